import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../functions/adapters/dynamodb/schema';
import { TOKEN_ENCRYPTION_CONTEXT } from '../functions/adapters/token-vault-context';

/** The partition key prefix of installation items, as the store adapters write them. */
export const INSTALLATION_KEY_PREFIX = TABLE_SCHEMA.keyPrefixes.installation;

/** Only items whose partition key is an installation's (`STORE#...`). */
const INSTALLATION_ITEMS_ONLY = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${INSTALLATION_KEY_PREFIX}*`] } };

/**
 * What every use of the token key must carry: this app's encryption context, with a store id. The
 * functions always send both, so a call without them is not one of theirs.
 */
const TOKEN_KEY_CONDITIONS = {
  StringEquals: { [`kms:EncryptionContext:${TOKEN_ENCRYPTION_CONTEXT.appKey}`]: TOKEN_ENCRYPTION_CONTEXT.appValue },
  Null: { [`kms:EncryptionContext:${TOKEN_ENCRYPTION_CONTEXT.storeKey}`]: 'false' },
};

/**
 * What the app keeps: one DynamoDB table for states, code claims and installations, and the KMS key
 * that wraps the data key encrypting each installation's tokens. Both are retained: losing either
 * loses every installation.
 *
 * Access is granted by intent, each grant exactly what one user of the storage does, on the table's
 * ARN alone (`Table.grant*` would add the index ARNs too).
 */
export class AuthStorage extends Construct {
  readonly table: dynamodb.Table;
  readonly tokenKey: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_SCHEMA.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_SCHEMA.dueIndex.name,
      partitionKey: { name: TABLE_SCHEMA.dueIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.dueIndex.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    // Retained: every stored token is encrypted under a data key this key wraps, so deleting it
    // would make every installation unreadable.
    this.tokenKey = new kms.Key(this, 'TokenKey', {
      description: 'Wraps the per-install data keys that encrypt the Ecwid tokens stored in the table',
      enableKeyRotation: true,
      alias: `alias/${Stack.of(this).stackName}-tokens`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** What starting an install needs: putting a state item. No reads, no KMS. */
  grantStateWrites(grantee: IGrantable): Grant {
    return this.onTable(grantee, ['dynamodb:PutItem']);
  }

  /**
   * What completing an install needs: reading, writing and deleting single items (state, code claim,
   * installation), and a new data key per install; it never unwraps one, queries or touches the index.
   */
  grantInstallWrites(grantee: IGrantable): Grant {
    return this.onTable(grantee, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']).combine(
      this.onTokenKey(grantee, 'kms:GenerateDataKey'),
    );
  }

  /**
   * What the scheduled refresh needs: querying the due index, conditional updates of single items
   * (leases and results; nothing else is written or read), and unwrapping an installation's data key
   * to re-encrypt the refreshed token with it, never a new key.
   */
  grantRefreshJob(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${TABLE_SCHEMA.dueIndex.name}`],
    })
      .combine(this.onTable(grantee, ['dynamodb:UpdateItem']))
      .combine(this.onTokenKey(grantee, 'kms:Decrypt'));
  }

  /**
   * Reading installation items (`GetItem`, `Query` by partition key), and no other kind of item: no
   * state, no code claim. No KMS: the tokens in them stay sealed.
   */
  grantInstallationsRead(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${INSTALLATION_KEY_PREFIX}*`] } },
    });
  }

  /**
   * What the credentials function needs: reading installation items and updating them conditionally
   * (a lease, a renewed grant, a confirmed revocation), and unwrapping their data keys. No other kind
   * of item, no index, no new data key.
   */
  grantCredentialsFunction(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
      conditions: INSTALLATION_ITEMS_ONLY,
    }).combine(this.grantTokenDecrypt(grantee));
  }

  /**
   * A store's token in the clear, and nothing more: `GetItem` of installation items (no state, no
   * code claim, no query) and unwrapping their data keys with this app's encryption context.
   */
  grantCredentialsRead(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.table.tableArn],
      conditions: INSTALLATION_ITEMS_ONLY,
    }).combine(this.grantTokenDecrypt(grantee));
  }

  /**
   * Unwrapping data keys, only with this app's encryption context naming a store: how every
   * principal but the refresh job is given `kms:Decrypt` on the token key.
   */
  grantTokenDecrypt(grantee: IGrantable): Grant {
    return this.onTokenKey(grantee, 'kms:Decrypt');
  }

  private onTable(grantee: IGrantable, actions: string[]): Grant {
    return Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
  }

  private onTokenKey(grantee: IGrantable, action: string): Grant {
    return Grant.addToPrincipal({ grantee, actions: [action], resourceArns: [this.tokenKey.keyArn], conditions: TOKEN_KEY_CONDITIONS });
  }
}
