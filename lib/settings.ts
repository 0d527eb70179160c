/**
 * The construct's props, and the one place they are validated and given their defaults. The rules a
 * value shares with the functions' own configuration (URLs, scopes, the client id, positive integers)
 * come from `functions/runtime/setting-rules.ts`, so a value synth accepts is one a cold start accepts.
 * One file on purpose, past the usual size: most of it is the props' documentation, which is the
 * package's public reference, next to the check of each prop.
 */
import * as logs from 'aws-cdk-lib/aws-logs';
import {
  appUiUrlProblem,
  clientIdProblem,
  frameAncestorsProblem,
  normalizeBaseUrl,
  positiveIntegerProblem,
  retentionDaysProblem,
  SCOPE_PATTERN,
  scopesProblem,
  splitOrigins,
  splitScopes,
  tokenRequestTimeoutProblem,
  urlProblem,
  type UrlRule,
} from '../functions/runtime/setting-rules';
import { VARIABLE_DEFAULTS } from '../functions/runtime/variables';

/**
 * The deployment's settings. The standalone stack (`bin/app.ts`) reads each from the CDK context key
 * of the same name (`cdk.json`, or `-c key=value`).
 */
export interface EcwidAppAuthProps {
  /**
   * The app's client id from Ecwid (context `ecwidClientId`). Synth and deploy work without it; the
   * functions then answer "not set up yet" until it is set.
   * @default ''
   */
  readonly ecwidClientId?: string;
  /**
   * The scopes the app requests, space-separated (context `ecwidScopes`).
   * @default 'read_store_profile'
   */
  readonly ecwidScopes?: string;
  /**
   * An https URL a completed install is redirected to, with `store_id` (context `successUrl`).
   * @default - a built-in "installed" page
   */
  readonly successUrl?: string;
  /**
   * The https origin merchants reach the API at, when something else (a CDN, a proxy) fronts it
   * (context `publicUrl`). Wins over `domainName`.
   * @default - `https://{domainName}`, else the HTTP API's own endpoint
   */
  readonly publicUrl?: string;
  /**
   * A custom domain for the API, a regional API Gateway domain, given together with
   * `certificateArn` (context `domainName`). Point a CNAME at `customDomainTarget` (the standalone
   * stack's `CustomDomainTarget` output).
   * @default - no custom domain
   */
  readonly domainName?: string;
  /**
   * An ACM certificate for `domainName`, in the stack's region (context `certificateArn`).
   * @default - no custom domain
   */
  readonly certificateArn?: string;
  /**
   * The complete ARN of an existing Secrets Manager secret holding the client secret (the bare
   * value, or JSON with `clientSecret`), encrypted with the AWS managed key: the functions are granted
   * no KMS access for it (context `clientSecretArn`). An ARN without the six-character suffix also
   * works, unless the secret's name itself ends in a hyphen and six letters or digits.
   * @default - a secret created here, holding a placeholder, for ops to replace
   */
  readonly clientSecretArn?: string;
  /**
   * Whether installs started from the Ecwid App Market (a callback without `state`) are accepted
   * (context `appMarketInstalls`).
   * @default true
   */
  readonly appMarketInstalls?: boolean;
  /**
   * How long function and access logs are kept; one of the values CloudWatch Logs accepts (1, 3, 5,
   * 7, 14, 30, 60, 90, ...) (context `logRetentionDays`).
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * The origin of Ecwid's OAuth endpoints; another only for staging (context `ecwidOAuthUrl`).
   * @default 'https://my.ecwid.com'
   */
  readonly ecwidOAuthUrl?: string;
  /**
   * The origin of Ecwid's REST API; another only for staging (context `ecwidApiUrl`).
   * @default 'https://app.ecwid.com'
   */
  readonly ecwidApiUrl?: string;
  /**
   * Steady-state requests per second the API accepts, all routes together (context `throttleRateLimit`).
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Requests the API accepts in a burst above the steady rate (context `throttleBurstLimit`).
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /**
   * How often EventBridge runs the scheduled refresh (context `refreshScheduleMinutes`). Each run
   * handles what is due and stops before its timeout; the rest waits for the next run.
   * @default 5
   */
  readonly refreshScheduleMinutes?: number;
  /**
   * How many installations one run handles at once (context `refreshConcurrency`).
   * @default 16
   */
  readonly refreshConcurrency?: number;
  /**
   * The budget of one request to Ecwid, in milliseconds (context `tokenRequestTimeoutMs`). It must
   * fit in the callback's own timeout (25 s) with 10 s to spare for storing the install: at most 15000.
   * @default 8000
   */
  readonly tokenRequestTimeoutMs?: number;
  /**
   * Concurrent executions reserved for the callback, which are also the most it may use (context
   * `callbackReservedConcurrency`): a flood of callbacks, junk codes included, then cannot starve
   * the other functions or the account. Reserving takes them from the account's unreserved pool,
   * which must keep at least 10: new accounts, whose limit is 10, cannot reserve any.
   * @default - none reserved
   */
  readonly callbackReservedConcurrency?: number;
  /**
   * How many authorization codes Ecwid may refuse within 5 minutes before ops are alarmed: a
   * stranger sending junk codes, or a misconfigured app (context `rejectedCodesAlarmThreshold`).
   * @default 20
   */
  readonly rejectedCodesAlarmThreshold?: number;
  /**
   * Puts CloudFront in front of the API, with an AWS WAF rate-based rule per client IP (context
   * `edgeProtection`). Needs `domainName` and `certificateArn`: the API's custom domain becomes
   * the distribution's origin, and its `execute-api` endpoint is disabled. The distribution's own
   * host name (or `edgeDomainName`) becomes the public URL. Creating the web ACL needs the stack in
   * us-east-1 (or give `edgeWebAclArn`). Costs about USD 6 a month for the web ACL and its rule,
   * plus USD 0.60 per million requests for WAF and CloudFront's request and transfer prices.
   * @default false
   */
  readonly edgeProtection?: boolean;
  /**
   * With `edgeProtection`: how many requests one client IP may make within 5 minutes before WAF
   * blocks it for a while (context `edgeRateLimit`). At least 10 (WAF's minimum).
   * @default 300
   */
  readonly edgeRateLimit?: number;
  /**
   * With `edgeProtection`: an existing web ACL for CloudFront (created in us-east-1) to attach
   * instead of creating one (context `edgeWebAclArn`).
   * @default - a web ACL with the rate-based rule is created
   */
  readonly edgeWebAclArn?: string;
  /**
   * With `edgeProtection`: a host name of your own for the distribution, given together with
   * `edgeCertificateArn`, an ACM certificate in us-east-1 (contexts `edgeDomainName`, `edgeCertificateArn`).
   * Point the name (CNAME or alias) at the distribution.
   * @default - the distribution's own `*.cloudfront.net` name
   */
  readonly edgeDomainName?: string;
  readonly edgeCertificateArn?: string;
  /**
   * How long the tombstone of an uninstalled store is kept before DynamoDB deletes it, in days, 1 to
   * 3650 (context `uninstallRetentionDays`).
   * @default 30
   */
  readonly uninstallRetentionDays?: number;
  /**
   * Where `GET /app` sends the merchant, with the session in the URL fragment (`#session=...`) (context
   * `appUiUrl`): the app's own UI, inside Ecwid's control panel.
   * @default - a built-in page with the store, its status and its missing scopes
   */
  readonly appUiUrl?: string;
  /**
   * The origins that may frame what `/app` renders, space-separated (context `frameAncestors`).
   * @default 'https://my.ecwid.com' (Ecwid's control panel)
   */
  readonly frameAncestors?: string;
}

/** The props, validated, normalized and with every default applied. */
export interface Settings {
  readonly clientId: string;
  /** Space-separated, single spaces. */
  readonly scopes: string;
  readonly successUrl: string | undefined;
  /** Without trailing slashes. */
  readonly publicUrl: string | undefined;
  readonly customDomain: { readonly domainName: string; readonly certificateArn: string } | undefined;
  readonly clientSecretArn: string | undefined;
  readonly appMarketInstalls: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly ecwidOAuthUrl: string;
  readonly ecwidApiUrl: string;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly refreshScheduleMinutes: number;
  readonly refreshConcurrency: number;
  readonly tokenRequestTimeoutMs: number;
  readonly callbackReservedConcurrency: number | undefined;
  readonly rejectedCodesAlarmThreshold: number;
  readonly edge:
    | {
        readonly rateLimitPer5Minutes: number;
        readonly webAclArn: string | undefined;
        readonly domain: { readonly domainName: string; readonly certificateArn: string } | undefined;
      }
    | undefined;
  readonly uninstallRetentionDays: number;
  readonly appUiUrl: string | undefined;
  /** Space-separated, single spaces. */
  readonly frameAncestors: string;
}

/** Deployed settings: https only, never the loopback http the local stack allows. */
const DEPLOYED: Pick<UrlRule, 'allowLoopbackHttp'> = { allowLoopbackHttp: false };

const DOMAIN_NAME_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const CERTIFICATE_ARN_PATTERN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const SECRET_ARN_PATTERN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** CloudFront only takes certificates and web ACLs from us-east-1. */
const EDGE_CERTIFICATE_ARN_PATTERN = /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const EDGE_WEB_ACL_ARN_PATTERN = /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[A-Za-z0-9_-]+\/[a-f0-9-]+$/;
/** AWS WAF's smallest limit for a rate-based rule. */
const MIN_EDGE_RATE_LIMIT = 10;
/** A refresh run's in-flight requests to Ecwid: more would only meet Ecwid's rate limit sooner. */
const MAX_REFRESH_CONCURRENCY = 256;

/**
 * Validates and normalizes the props, so a mistake fails the synth instead of the first install.
 * Blank strings count as unset.
 *
 * @throws Error naming the setting and the offending value.
 */
export function resolveSettings(props: EcwidAppAuthProps): Settings {
  const clientId = blankToUndefined(props.ecwidClientId) ?? '';
  const clientIdIssue = clientId === '' ? undefined : clientIdProblem(clientId);
  if (clientIdIssue !== undefined) throw new Error(`ecwidClientId "${clientId}" ${clientIdIssue}`);

  const scopes = splitScopes(blankToUndefined(props.ecwidScopes) ?? VARIABLE_DEFAULTS.ECWID_SCOPES);
  const scopesIssue = scopesProblem(scopes);
  if (scopesIssue !== undefined) {
    const offending = scopes.find((scope) => !SCOPE_PATTERN.test(scope));
    throw new Error(
      offending === undefined
        ? `ecwidScopes ${scopesIssue}`
        : `ecwidScopes: "${offending}" is not a scope name (${SCOPE_PATTERN.source}); separate scopes with spaces`,
    );
  }

  const domainName = blankToUndefined(props.domainName)?.toLowerCase();
  const certificateArn = blankToUndefined(props.certificateArn);
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new Error('domainName and certificateArn must be given together');
  }
  if (domainName !== undefined && !DOMAIN_NAME_PATTERN.test(domainName)) {
    throw new Error(`domainName "${domainName}" is not a fully qualified host name`);
  }
  if (certificateArn !== undefined && !CERTIFICATE_ARN_PATTERN.test(certificateArn)) {
    throw new Error(`certificateArn "${certificateArn}" is not an ACM certificate ARN`);
  }

  const clientSecretArn = blankToUndefined(props.clientSecretArn);
  if (clientSecretArn !== undefined && !SECRET_ARN_PATTERN.test(clientSecretArn)) {
    throw new Error(`clientSecretArn "${clientSecretArn}" is not a Secrets Manager secret ARN`);
  }

  const logRetentionDays = props.logRetentionDays ?? 30;
  if (!Object.values(logs.RetentionDays).includes(logRetentionDays)) {
    throw new Error(
      `logRetentionDays ${logRetentionDays} is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)`,
    );
  }

  const rateLimit = props.throttleRateLimit ?? 50;
  if (!Number.isFinite(rateLimit) || rateLimit <= 0) {
    throw new Error(`throttleRateLimit ${rateLimit} must be a positive number of requests per second`);
  }
  const refreshConcurrency = positiveInteger(
    'refreshConcurrency',
    props.refreshConcurrency ?? Number(VARIABLE_DEFAULTS.REFRESH_CONCURRENCY),
  );
  if (refreshConcurrency > MAX_REFRESH_CONCURRENCY) {
    throw new Error(`refreshConcurrency ${refreshConcurrency} must be at most ${MAX_REFRESH_CONCURRENCY}`);
  }

  const tokenRequestTimeoutMs = props.tokenRequestTimeoutMs ?? Number(VARIABLE_DEFAULTS.TOKEN_REQUEST_TIMEOUT_MS);
  const timeoutIssue = tokenRequestTimeoutProblem(tokenRequestTimeoutMs);
  if (timeoutIssue !== undefined) throw new Error(`tokenRequestTimeoutMs ${tokenRequestTimeoutMs} ${timeoutIssue}`);

  const edge = props.edgeProtection === true ? edgeSettings(props, domainName) : undefined;
  const uninstallRetentionDays = props.uninstallRetentionDays ?? Number(VARIABLE_DEFAULTS.UNINSTALL_RETENTION_DAYS);
  const retentionIssue = retentionDaysProblem(uninstallRetentionDays);
  if (retentionIssue !== undefined) throw new Error(`uninstallRetentionDays ${uninstallRetentionDays} ${retentionIssue}`);

  return {
    clientId,
    scopes: scopes.join(' '),
    successUrl: url('successUrl', props.successUrl, 'whole'),
    publicUrl: url('publicUrl', props.publicUrl, 'base'),
    customDomain: domainName === undefined || certificateArn === undefined ? undefined : { domainName, certificateArn },
    clientSecretArn,
    appMarketInstalls: props.appMarketInstalls ?? VARIABLE_DEFAULTS.APP_MARKET_INSTALLS === 'true',
    logRetention: logRetentionDays as logs.RetentionDays,
    ecwidOAuthUrl: url('ecwidOAuthUrl', props.ecwidOAuthUrl, 'base') ?? VARIABLE_DEFAULTS.ECWID_OAUTH_URL,
    ecwidApiUrl: url('ecwidApiUrl', props.ecwidApiUrl, 'base') ?? VARIABLE_DEFAULTS.ECWID_API_URL,
    throttle: { rateLimit, burstLimit: positiveInteger('throttleBurstLimit', props.throttleBurstLimit ?? 100) },
    refreshScheduleMinutes: positiveInteger('refreshScheduleMinutes', props.refreshScheduleMinutes ?? 5),
    refreshConcurrency,
    tokenRequestTimeoutMs,
    callbackReservedConcurrency:
      props.callbackReservedConcurrency === undefined
        ? undefined
        : positiveInteger('callbackReservedConcurrency', props.callbackReservedConcurrency),
    rejectedCodesAlarmThreshold: positiveInteger('rejectedCodesAlarmThreshold', props.rejectedCodesAlarmThreshold ?? 20),
    edge,
    uninstallRetentionDays,
    appUiUrl: appUiUrl(props.appUiUrl),
    frameAncestors: frameAncestors(props.frameAncestors),
  };
}

function appUiUrl(value: string | undefined): string | undefined {
  const given = blankToUndefined(value);
  if (given === undefined) return undefined;
  const problem = appUiUrlProblem(given) ?? urlProblem(given, { kind: 'whole', ...DEPLOYED });
  if (problem !== undefined) throw new Error(`appUiUrl "${given}" ${problem}`);
  return given;
}

function frameAncestors(value: string | undefined): string {
  const origins = splitOrigins(blankToUndefined(value) ?? VARIABLE_DEFAULTS.FRAME_ANCESTORS);
  const problem = frameAncestorsProblem(origins) ?? (origins.some((origin) => origin.startsWith('http:')) ? 'must be https origins' : undefined);
  if (problem !== undefined) throw new Error(`frameAncestors "${value}" ${problem}`);
  return origins.join(' ');
}

/** The edge protection's settings, when it is on. */
function edgeSettings(props: EcwidAppAuthProps, apiDomainName: string | undefined): Settings['edge'] {
  if (apiDomainName === undefined) {
    throw new Error(
      'edgeProtection needs domainName and certificateArn: the API is reached through its custom domain ' +
        'behind the edge, and its execute-api endpoint is disabled',
    );
  }
  const rateLimitPer5Minutes = positiveInteger('edgeRateLimit', props.edgeRateLimit ?? 300);
  if (rateLimitPer5Minutes < MIN_EDGE_RATE_LIMIT) {
    throw new Error(`edgeRateLimit ${rateLimitPer5Minutes} must be at least ${MIN_EDGE_RATE_LIMIT} (AWS WAF's smallest)`);
  }
  const webAclArn = blankToUndefined(props.edgeWebAclArn);
  if (webAclArn !== undefined && !EDGE_WEB_ACL_ARN_PATTERN.test(webAclArn)) {
    throw new Error(`edgeWebAclArn "${webAclArn}" is not the ARN of a web ACL for CloudFront (us-east-1, global)`);
  }
  const domainName = blankToUndefined(props.edgeDomainName)?.toLowerCase();
  const certificateArn = blankToUndefined(props.edgeCertificateArn);
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new Error('edgeDomainName and edgeCertificateArn must be given together');
  }
  if (domainName !== undefined && !DOMAIN_NAME_PATTERN.test(domainName)) {
    throw new Error(`edgeDomainName "${domainName}" is not a fully qualified host name`);
  }
  if (certificateArn !== undefined && !EDGE_CERTIFICATE_ARN_PATTERN.test(certificateArn)) {
    throw new Error(`edgeCertificateArn "${certificateArn}" is not an ACM certificate ARN in us-east-1, where CloudFront takes them`);
  }
  return {
    rateLimitPer5Minutes,
    webAclArn,
    domain: domainName === undefined || certificateArn === undefined ? undefined : { domainName, certificateArn },
  };
}

/** A URL setting as the functions read it: a base URL without its trailing slashes, a whole one as given. */
function url(key: string, value: string | undefined, kind: UrlRule['kind']): string | undefined {
  const text = blankToUndefined(value);
  if (text === undefined) return undefined;
  const problem = urlProblem(text, { kind, ...DEPLOYED });
  if (problem !== undefined) throw new Error(`${key} "${text}" ${problem}`);
  return kind === 'base' ? normalizeBaseUrl(text) : text;
}

function positiveInteger(key: string, value: number): number {
  const problem = positiveIntegerProblem(value);
  if (problem !== undefined) throw new Error(`${key} ${value} ${problem}`);
  return value;
}

function blankToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
