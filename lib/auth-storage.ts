import { Names, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AccountRootPrincipal, Effect, Grant, PolicyDocument, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../functions/adapters/dynamodb/schema';
import { TOKEN_KEY_CONDITIONS } from '../functions/adapters/token-vault-context';

/** The partition key prefix of installation items, as the store adapters write them. */
export const INSTALLATION_KEY_PREFIX = TABLE_SCHEMA.keyPrefixes.installation;

/**
 * The tag that admits a principal of another stack to the token key (see `onTokenKey`): its value
 * names one storage, so a role tagged for one app's key is not admitted to another's.
 */
export const TOKEN_KEY_ACCESS_TAG = 'ecwid-app-auth:token-key';

/** The kinds of item in the table, by the prefix of their partition key. */
type ItemKind = keyof typeof TABLE_SCHEMA.keyPrefixes;

/**
 * What the account may do with the token key through IAM: administer it, never use it. No
 * `kms:Encrypt`, `kms:Decrypt`, `kms:GenerateDataKey*`, `kms:ReEncrypt*` and no `kms:CreateGrant`
 * (a grant would hand those out): only the roles the storage grants to, named in the key policy,
 * can open a token. `kms:PutKeyPolicy` stays, so a failed deploy never locks the key for good; a
 * principal allowed it through IAM could rewrite the policy, so it is to be fenced (README, Security).
 */
const KEY_ADMINISTRATION_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListAliases',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:RotateKeyOnDemand',
  'kms:UpdateKeyDescription',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:RevokeGrant',
  'kms:RetireGrant',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

/**
 * A key policy in which the account administers the key but cannot use it: the whole policy, not the
 * CDK's default (the account's root may do anything, `kms:*`). Uses are added by grant methods that
 * name their principals.
 */
export function administeredButUnusableByTheAccount(): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'AccountAdministersTheKeyButCannotUseIt',
        principals: [new AccountRootPrincipal()],
        actions: KEY_ADMINISTRATION_ACTIONS,
        resources: ['*'],
      }),
    ],
  });
}

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

  /** @param props.keyAliasName the token key's alias (`alias/...`), unique in the account and region */
  constructor(scope: Construct, id: string, props: { readonly keyAliasName: string }) {
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
      alias: props.keyAliasName,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: administeredButUnusableByTheAccount(),
    });
  }

  /** What starting an install needs: putting a state item. No other item, no reads, no KMS. */
  grantStateWrites(grantee: IGrantable): Grant {
    return this.onItems(grantee, ['state'], ['dynamodb:PutItem']);
  }

  /**
   * What completing an install needs: spending a state, claiming a code (the only deletes anywhere:
   * releasing a claim), writing the installation, and a new data key per install; it never unwraps
   * one, queries or touches the index.
   */
  grantInstallWrites(grantee: IGrantable): Grant {
    return this.onItems(grantee, ['state', 'codeClaim', 'installation'], ['dynamodb:GetItem', 'dynamodb:UpdateItem'])
      .combine(this.onItems(grantee, ['codeClaim'], ['dynamodb:PutItem', 'dynamodb:DeleteItem']))
      .combine(this.onTokenKey(grantee, ['kms:GenerateDataKey']));
  }

  /**
   * What the app's iframe route needs: reading an installation, and writing one from the control
   * panel's token when the store has none that works (a new data key for it). No other kind of item,
   * no unwrapping: it never opens a stored token.
   */
  grantControlPanelRepair(grantee: IGrantable): Grant {
    return this.onItems(grantee, ['installation'], ['dynamodb:GetItem', 'dynamodb:UpdateItem']).combine(this.onTokenKey(grantee, ['kms:GenerateDataKey']));
  }

  /**
   * What the scheduled refresh needs: querying the due index, conditional updates of installation
   * items (leases and results; nothing else is written or read), and unwrapping an installation's data
   * key to re-encrypt the refreshed token with it, never a new key.
   */
  grantRefreshJob(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${TABLE_SCHEMA.dueIndex.name}`],
      conditions: leadingKeys([`${TABLE_SCHEMA.dueIndex.shardPrefix}*`]),
    })
      .combine(this.onItems(grantee, ['installation'], ['dynamodb:UpdateItem']))
      .combine(this.onTokenKey(grantee, ['kms:Decrypt']));
  }

  /**
   * Reading installation items (`GetItem`, `Query` by partition key), and no other kind of item: no
   * state, no code claim. No KMS: the tokens in them stay sealed.
   */
  grantInstallationsRead(grantee: IGrantable): Grant {
    return this.onItems(grantee, ['installation'], ['dynamodb:GetItem', 'dynamodb:Query']);
  }

  /**
   * What the webhooks need: reading installations and updating their lifecycle (a purge, a requested
   * check, a subscription: never a new installation item, never a delete); claiming, completing and
   * releasing webhook events (a claim is an update, or a put over an item whose TTL has passed; a
   * release is an update too: nothing is deleted); and unwrapping an installation's data key to ask
   * Ecwid with its token (before an uninstall destroys anything, or a subscription is recorded).
   */
  grantWebhookHandling(grantee: IGrantable): Grant {
    return this.onItems(grantee, ['installation'], ['dynamodb:GetItem', 'dynamodb:UpdateItem'])
      .combine(this.onItems(grantee, ['webhookEvent'], ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']))
      .combine(this.onTokenKey(grantee, ['kms:Decrypt']));
  }

  /**
   * What the credentials function needs: reading installation items and updating them conditionally
   * (a lease, a renewed grant, a confirmed revocation), and unwrapping their data keys. No other kind
   * of item, no index, no new data key.
   */
  grantCredentialsFunction(grantee: IGrantable): Grant {
    return this.onItems(grantee, ['installation'], ['dynamodb:GetItem', 'dynamodb:UpdateItem']).combine(this.grantTokenDecrypt(grantee));
  }

  /**
   * A store's token in the clear, and nothing more: `GetItem` of installation items (no state, no
   * code claim, no query) and unwrapping their data keys with this app's encryption context.
   */
  grantCredentialsRead(grantee: IGrantable): Grant {
    return this.onItems(grantee, ['installation'], ['dynamodb:GetItem']).combine(this.grantTokenDecrypt(grantee));
  }

  /**
   * Unwrapping data keys, only with this app's encryption context naming a store: how every
   * principal but the refresh job is given `kms:Decrypt` on the token key.
   */
  grantTokenDecrypt(grantee: IGrantable): Grant {
    return this.onTokenKey(grantee, ['kms:Decrypt']);
  }

  /** `actions` on the table's items of these kinds only, by the prefix of their partition key. */
  private onItems(grantee: IGrantable, kinds: ItemKind[], actions: string[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.table.tableArn],
      conditions: leadingKeys(kinds.map((kind) => `${TABLE_SCHEMA.keyPrefixes[kind]}*`)),
    });
  }

  /**
   * `actions` on the token key, always with this app's encryption context: in the grantee's IAM
   * policy and in the key policy, which must both allow a use (the account's IAM alone cannot).
   *
   * The key policy names a principal of this stack, or one whose ARN is known at synth (an imported
   * role). A principal of another stack cannot be named: its ARN would make this stack depend on
   * that one, which already depends on this (it reads the table's name, the credentials URL). It is
   * admitted by a tag instead: the grant tags its role `ecwid-app-auth:token-key` with this storage's
   * id, and the key policy admits the account's principals that carry that tag, with the context.
   * Tagging a role takes the same IAM administration as writing its policy.
   */
  private onTokenKey(grantee: IGrantable, actions: string[]): Grant {
    const principal = grantee.grantPrincipal;
    const principalArn = (principal.policyFragment.principalJson.AWS ?? []) as unknown[];
    const otherStack = Construct.isConstruct(principal) && Stack.of(principal) !== Stack.of(this) ? principal : undefined;
    if (otherStack === undefined || !principalArn.some((arn) => Token.isUnresolved(arn))) {
      this.tokenKey.addToResourcePolicy(
        new PolicyStatement({ effect: Effect.ALLOW, principals: [principal], actions, resources: ['*'], conditions: TOKEN_KEY_CONDITIONS }),
      );
    } else {
      Tags.of(otherStack).add(TOKEN_KEY_ACCESS_TAG, this.accessTagValue);
      this.admitTagged(actions);
    }
    return Grant.addToPrincipal({ grantee, actions, resourceArns: [this.tokenKey.keyArn], conditions: TOKEN_KEY_CONDITIONS });
  }

  /** This storage's value of the access tag: stable, unique in the app, never a token. */
  private get accessTagValue(): string {
    return Names.uniqueId(this);
  }

  private readonly admittedByTag = new Set<string>();

  /** One key-policy statement per action: the account's principals tagged for this storage, with the context. */
  private admitTagged(actions: string[]): void {
    for (const action of actions) {
      if (this.admittedByTag.has(action)) continue;
      this.admittedByTag.add(action);
      this.tokenKey.addToResourcePolicy(
        new PolicyStatement({
          sid: `TaggedPrincipalsOfOtherStacks${action.replace(/^kms:/, '')}`,
          effect: Effect.ALLOW,
          principals: [new AccountRootPrincipal()],
          actions: [action],
          resources: ['*'],
          conditions: {
            ...TOKEN_KEY_CONDITIONS,
            StringEquals: { ...TOKEN_KEY_CONDITIONS.StringEquals, [`aws:PrincipalTag/${TOKEN_KEY_ACCESS_TAG}`]: this.accessTagValue },
          },
        }),
      );
    }
  }
}

/** Every partition key the request touches starts with one of these: a condition on the kind of item. */
function leadingKeys(patterns: string[]) {
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': patterns } };
}
