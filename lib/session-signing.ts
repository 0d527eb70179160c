import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, Grant, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { administeredButUnusableByTheAccount } from './auth-storage';

/** Only the one way this app signs: ES256 over the JWT's signing input as it is. */
const SIGNING_CONDITIONS = { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'RAW' } };

/**
 * The key that signs sessions and install receipts (ES256): an asymmetric KMS key
 * (`ECC_NIST_P256`, `SIGN_VERIFY`) whose private half never leaves KMS. Its public half is published
 * at `/.well-known/jwks.json`.
 *
 * Like the token key, the account administers it but cannot use it through IAM: only the roles
 * granted here are named in its policy. Not retained: it signs tokens that live minutes, and nothing
 * stored depends on it. Asymmetric keys do not rotate automatically; rotate by deploying a new key:
 * the JWKS then serves the new one only, so sessions and receipts of the old key (minutes long) are
 * refused by verifiers as soon as they fetch the new set; merchants open the app again.
 */
export class SessionSigning extends Construct {
  readonly key: kms.Key;

  /** @param props.aliasName the key's alias (`alias/...`), unique in the account and region */
  constructor(scope: Construct, id: string, props: { readonly aliasName: string }) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Signs the sessions and install receipts of the Ecwid app (ES256); its private half never leaves KMS',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      alias: props.aliasName,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
      policy: administeredButUnusableByTheAccount(),
    });
  }

  /** Signing with ES256 over a raw message, and nothing else. */
  grantSign(grantee: IGrantable): Grant {
    return this.onKey(grantee, ['kms:Sign'], SIGNING_CONDITIONS);
  }

  /** Reading the public half (for the JWKS). */
  grantPublicKey(grantee: IGrantable): Grant {
    return this.onKey(grantee, ['kms:GetPublicKey']);
  }

  /** `actions` in the grantee's IAM policy and in the key policy, which must both allow a use. */
  private onKey(grantee: IGrantable, actions: string[], conditions?: Record<string, Record<string, string>>): Grant {
    this.key.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        principals: [grantee.grantPrincipal],
        actions,
        resources: ['*'],
        ...(conditions === undefined ? {} : { conditions }),
      }),
    );
    return Grant.addToPrincipal({ grantee, actions, resourceArns: [this.key.keyArn], ...(conditions === undefined ? {} : { conditions }) });
  }
}
