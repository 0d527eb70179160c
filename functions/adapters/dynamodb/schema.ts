/**
 * The shape of the one DynamoDB table, shared by the store adapter, the CDK stack and the local
 * stack so the three cannot drift apart.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  /** Epoch seconds after which DynamoDB may delete the item (lazily: reads still check expiry). */
  timeToLiveAttribute: 'ttlEpochSeconds',
  /**
   * What starts the partition key of each kind of item, before the item's own key. IAM conditions
   * (`dynamodb:LeadingKeys`) limit each function to the kinds it touches by these prefixes.
   */
  keyPrefixes: {
    state: 'STATE#',
    codeClaim: 'CODE#',
    installation: 'STORE#',
    /** A webhook's `eventId`, once acted on (kept at least 72 hours). */
    webhookEvent: 'EVENT#',
  },
  dueIndex: {
    name: 'due-index',
    /**
     * A shard of the installations, so due-time queries never concentrate on one partition. The
     * index holds keys only: no token is copied into it, and a lease reads the item itself.
     */
    partitionKey: 'dueShard',
    sortKey: 'dueAtEpochSeconds',
    /** What starts every shard's name (`shard-0`, `shard-1`, ...): the index's leading keys. */
    shardPrefix: 'shard-',
    /**
     * How many shards the installations are spread over. One number for the writers (installs,
     * checks) and the reader (the scheduled job): were they to differ, an installation could sit in
     * a shard the job never queries.
     */
    shardCount: 16,
  },
} as const;

/** The CreateTable input for a local DynamoDB-compatible server (the CDK stack builds the same table). */
export function localTableDefinition(tableName: string) {
  const { partitionKey, dueIndex } = TABLE_SCHEMA;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' as const },
      { AttributeName: dueIndex.partitionKey, AttributeType: 'S' as const },
      { AttributeName: dueIndex.sortKey, AttributeType: 'N' as const },
    ],
    KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' as const }],
    GlobalSecondaryIndexes: [
      {
        IndexName: dueIndex.name,
        KeySchema: [
          { AttributeName: dueIndex.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: dueIndex.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' as const },
      },
    ],
  };
}
