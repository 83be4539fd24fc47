import { CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { fallbackFunction, httpRoutes, type FunctionName, type HttpRoute } from '../../functions/manifest';
import type { ApiThrottleSettings, BridgeCustomDomain } from '../bridge-stack-props';
import { accessLogFormat, HTTP_ACCESS_LOG_FIELDS } from './access-log-formats';
import type { BridgeFunction } from './bridge-function';
import { declared, pascalCase } from './names';
import { StackPart } from './stack-part';

/**
 * How each family of routes (the first path segment) authenticates its caller. It happens in the
 * handler because API Gateway cannot do it: the Kommo and chat-service signatures are HMACs over
 * the raw body, which an HTTP API authorizer never receives (docs/contract.md).
 */
const callerAuthentication: Readonly<Record<string, string>> = {
  kommo:
    'Kommo signs every hook with X-Signature (HMAC-SHA1 of the raw body with the channel secret); the handler verifies it before anything is stored, queued or forwarded.',
  chat: 'The chat service signs every request with Standard Webhooks (HMAC-SHA256 over webhook-id, timestamp and raw body with CHAT_SERVICE_SECRET, 5-minute window); the handler verifies it.',
  widget:
    'The Kommo widget sends a Kommo one-time token (HS256 JWT with KOMMO_CLIENT_SECRET) in X-Auth-Token; the handler verifies it. ' +
    'OPTIONS preflights carry no token by design (CORS); they only answer CORS headers to Kommo account origins and read or write nothing.',
  admin: 'Operator calls carry the bearer ADMIN_TOKEN from the bridge secret; the handler verifies it.',
};

/** Routes whose caller authenticates otherwise than the rest of their family. */
const routeAuthentication: Readonly<Record<string, string>> = {
  'GET /kommo/install':
    "Kommo's redirect after an install (the integration's Redirect URI) carries a single-use authorization code. The handler exchanges it only at " +
    "the account host named by referer, once checked to be a Kommo account host, with the integration's secret key; a forged request connects nothing and makes no outbound call.",
  'GET /kommo/uninstall':
    "Kommo signs the disable hook: signature is the HMAC-SHA256 of client_uuid|account_id with the integration's secret key (KOMMO_CLIENT_SECRET); the handler checks client_uuid and the signature in constant time before anything changes.",
};

function authenticationOf(route: HttpRoute): string {
  const own = routeAuthentication[`${route.method} ${route.path}`];
  if (own) return own;
  const family = route.path.split('/')[1] ?? '';
  const how = callerAuthentication[family];
  if (!how) {
    throw new Error(
      `Route ${route.method} ${route.path} has no documented caller authentication: add "${family}" to callerAuthentication in infra/constructs/http-api.ts`,
    );
  }
  return how;
}

export interface BridgeHttpApiProps {
  /** Request limits of the `$default` stage, applied to every route. */
  readonly throttle: ApiThrottleSettings;
  /** How long the access logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /**
   * A custom domain mapped at the API's root; the bridge's URLs are then made of it.
   * @default - the execute-api address
   */
  readonly customDomain?: BridgeCustomDomain;
}

/**
 * The HTTP API in front of the functions: its throttled `$default` stage with access logs, its
 * optional custom domain, and (once the functions exist, `routeTo`) one route per manifest entry.
 */
export class BridgeHttpApi extends StackPart {
  /** The HTTP API. */
  readonly api: apigwv2.HttpApi;
  /** The API's `$default` stage. */
  readonly stage: apigwv2.HttpStage;
  /** The bridge's public base URL (no trailing slash): the custom domain when given, else the execute-api address. */
  readonly publicUrl: string;

  constructor(scope: Construct, id: string, props: BridgeHttpApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: stack.stackName,
      description: 'Kommo Live Bridge: Kommo hooks, chat-service, Kommo widget and operator calls',
      // The default stage is declared below, with throttling and access logs.
      createDefaultStage: false,
    });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: props.logRetention });
    this.stage = new apigwv2.HttpStage(this, 'ApiDefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
        format: AccessLogFormat.custom(accessLogFormat(HTTP_ACCESS_LOG_FIELDS)),
      },
    });

    // Made of the API's id, region and URL suffix rather than its `ApiEndpoint` attribute, so that
    // functions may carry it (`$default` stage: no path).
    this.publicUrl = props.customDomain
      ? this.mapDomain(props.customDomain)
      : `https://${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }

  /** One route per manifest entry, and `$default` (every other path or method) to the fallback function. */
  routeTo(functions: ReadonlyMap<FunctionName, BridgeFunction>): void {
    const api = this.api;
    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integrationFor = (name: FunctionName) => {
      let integration = integrations.get(name);
      if (!integration) {
        integration = new HttpLambdaIntegration(
          `${pascalCase(name)}Integration`,
          declared(functions, 'function', name).function,
          { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 },
        );
        integrations.set(name, integration);
      }
      return integration;
    };

    for (const route of httpRoutes) {
      for (const httpRoute of api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: integrationFor(route.function),
      })) {
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: authenticationOf(route) });
      }
    }

    const defaultRoute = new apigwv2.HttpRoute(api, 'DefaultRoute', {
      httpApi: api,
      routeKey: apigwv2.HttpRouteKey.DEFAULT,
      integration: integrationFor(fallbackFunction),
    });
    Validations.of(defaultRoute).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "The $default route only answers the contract's JSON 404/405 for unknown routes; it reads and writes no data and holds no secret.",
    });
  }

  /** The custom domain, mapped at the API's root; returns the bridge's base URL made of it. */
  private mapDomain(customDomain: BridgeCustomDomain): string {
    const certificate = acm.Certificate.fromCertificateArn(this, 'ApiCertificate', customDomain.certificateArn);
    const domain = new apigwv2.DomainName(this, 'ApiDomain', {
      domainName: customDomain.domainName,
      certificate,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    new apigwv2.ApiMapping(this, 'ApiDomainMapping', { api: this.api, domainName: domain, stage: this.stage });
    new CfnOutput(this, 'ApiDomainTarget', {
      description: `Point ${customDomain.domainName} (CNAME, or a Route 53 alias) at this regional domain name.`,
      value: domain.regionalDomainName,
    });
    return `https://${customDomain.domainName}`;
  }
}
