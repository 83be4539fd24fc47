import { CfnOutput, type CfnElement, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  liveChannelPath,
  webSocketRoutes,
  type FunctionName,
  type LiveChannelMethod,
  type WebSocketRouteKey,
} from '../../functions/manifest';
import type { ApiThrottleSettings } from '../bridge-stack-props';
import { accessLogFormat, WEBSOCKET_ACCESS_LOG_FIELDS } from './access-log-formats';
import type { BridgeFunction } from './bridge-function';
import { declared, pascalCase } from './names';
import { StackPart } from './stack-part';

/**
 * How the live channel's routes authenticate. API Gateway authorizes a WebSocket connection only at
 * `$connect`; the ticket in its URL is the credential, because browsers cannot set headers on a
 * WebSocket handshake.
 */
const liveChannelAuthentication: Readonly<Record<WebSocketRouteKey, string>> = {
  $connect:
    "The connect URL must carry a ticket that POST /widget/live issued after verifying the caller's Kommo one-time token: 256 random bits, " +
    'single use (claimed by a conditional delete) and valid 60 s. The $connect handler answers 401 without one, and API Gateway refuses the handshake.',
  $disconnect:
    'API Gateway sends $disconnect only for connections that $connect accepted with a valid ticket; the handler only ends what that connection started.',
  $default:
    'Frames arrive only on connections that $connect accepted with a valid ticket; the handler acts only for the Kommo user and account that ticket was bound to.',
};

export interface LiveChannelProps {
  /** Request limits of the live stage (WebSocket connects and frames). */
  readonly throttle: ApiThrottleSettings;
  /** How long the access logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** Whether to set the region's API Gateway account setting to a CloudWatch Logs role (see `BridgeStackProps`). */
  readonly setAccountLogsRole: boolean;
  /**
   * A domain for the live channel, mapped at its root to the live stage, with a certificate covering it.
   * @default - the execute-api address
   */
  readonly domain?: { readonly domainName: string; readonly certificateArn: string };
}

/**
 * The live channel (docs/contract.md, "Live channel for the widget"): a WebSocket API with a throttled
 * stage and access logs, its optional custom domain, and (once the functions exist, `routeTo`) one
 * route per manifest WebSocket route.
 */
export class LiveChannel extends StackPart {
  /** The WebSocket API in front of the live function. */
  readonly api: apigwv2.WebSocketApi;
  /** The live stage: its `wss://` URL is what `POST /widget/live` answers, its callback URL what pushes go to. */
  readonly stage: apigwv2.WebSocketStage;
  /** The live channel's public `wss://` URL. */
  readonly publicUrl: string;

  constructor(scope: Construct, id: string, props: LiveChannelProps) {
    super(scope, id);
    this.api = new apigwv2.WebSocketApi(this, 'LiveApi', {
      apiName: `${Stack.of(this).stackName}-live`,
      description: "Kommo Live Bridge: the Kommo widget's live channel (client presence of the chats it watches)",
    });
    const accessLogs = new logs.LogGroup(this, 'LiveApiAccessLogs', { retention: props.logRetention });
    this.stage = new apigwv2.WebSocketStage(this, 'LiveStage', {
      webSocketApi: this.api,
      stageName: liveChannelPath,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
        format: AccessLogFormat.custom(accessLogFormat(WEBSOCKET_ACCESS_LOG_FIELDS)),
      },
    });
    if (props.setAccountLogsRole) this.stage.node.addDependency(this.declareApiGatewayLogsRole());
    this.publicUrl = props.domain ? this.mapDomain(props.domain) : this.stage.url;
  }

  /** One route per manifest WebSocket route, each to its function. */
  routeTo(functions: ReadonlyMap<FunctionName, BridgeFunction>): void {
    const integrations = new Map<FunctionName, WebSocketLambdaIntegration>();
    for (const route of webSocketRoutes) {
      let integration = integrations.get(route.function);
      if (!integration) {
        integration = new WebSocketLambdaIntegration(
          `Live${pascalCase(route.function)}Integration`,
          declared(functions, 'function', route.function).function,
        );
        integrations.set(route.function, integration);
      }
      const webSocketRoute = this.api.addRoute(route.routeKey, { integration });
      Validations.of(webSocketRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: liveChannelAuthentication[route.routeKey],
      });
    }
  }

  /**
   * execute-api:ManageConnections on this stage's connections, for the methods the function calls only:
   * POST @connections/{id} pushes a frame, DELETE closes a connection; GET (a connection's details) is
   * never granted.
   */
  grantManageConnections(bridgeFunction: BridgeFunction, methods: readonly LiveChannelMethod[]): void {
    if (methods.length === 0) return;
    const stack = Stack.of(this);
    const api = stack.formatArn({ service: 'execute-api', resource: this.api.apiId });
    bridgeFunction.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: methods.map((method) => `${api}/${this.stage.stageName}/${method}/@connections/*`),
      }),
    );
    const apiId = stack.getLogicalId(this.api.node.defaultChild as CfnElement);
    Validations.of(bridgeFunction.role).acknowledge(
      ...methods.map((method) => ({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/${liveChannelPath}/${method}/@connections/*]`,
        reason:
          'Connection ids are made by API Gateway at each $connect and known only at run time; the wildcard spans the connections of this ' +
          `API's live stage (${method} @connections/{id}) and nothing else.`,
      })),
    );
  }

  /**
   * The region's API Gateway account setting, naming a role API Gateway writes CloudWatch logs with.
   * The setting is shared by every REST and WebSocket API of the account in the region, so the role
   * has the permissions AWS documents for it and outlives the stack: deleting the stack must not
   * leave the setting naming a role that no longer exists.
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
   */
  private declareApiGatewayLogsRole(): apigateway.CfnAccount {
    const role = new iam.Role(this, 'ApiGatewayLogsRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description:
        'API Gateway (this account and region) writes REST and WebSocket API logs to CloudWatch Logs with this role',
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the API Gateway account setting; the role serves every REST and ' +
        'WebSocket API of the account in this region, whose log groups API Gateway names itself, so no narrower policy fits all of them.',
    });
    const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return account;
  }

  /** The live channel's custom domain, mapped at its root to the live stage; returns its `wss://` URL. */
  private mapDomain(domain: { readonly domainName: string; readonly certificateArn: string }): string {
    const domainName = new apigwv2.DomainName(this, 'LiveDomain', {
      domainName: domain.domainName,
      certificate: acm.Certificate.fromCertificateArn(this, 'LiveCertificate', domain.certificateArn),
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    new apigwv2.ApiMapping(this, 'LiveDomainMapping', { api: this.api, domainName, stage: this.stage });
    new CfnOutput(this, 'LiveDomainTarget', {
      description: `Point ${domain.domainName} (CNAME, or a Route 53 alias) at this regional domain name.`,
      value: domainName.regionalDomainName,
    });
    return `wss://${domain.domainName}`;
  }
}
