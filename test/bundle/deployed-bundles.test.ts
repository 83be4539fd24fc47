import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createBridgeTable, documentClient } from '../../functions/core/adapters/dynamodb/table';
import { secretGroups, type SecretGroup } from '../../functions/core/config';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import type { ApiResult } from '../../functions/core/http/api';
import type { EventJob, KommoHookJob, StatusSyncJob, TimerJob } from '../../functions/core/queue-messages';
import {
  functions as functionSpecs,
  queues as queueSpecs,
  type FunctionName,
  type QueueName,
} from '../../functions/manifest';
import { toApiGatewayEvent } from '../../local/api-gateway-event';
import { newConnectionId, toWebSocketEvent } from '../../local/websocket-event';
import { DynamoLiveChannelStore } from '../../functions/core/adapters/dynamodb/live-channel-store';
import { DynamoAccountBindingStore } from '../../functions/core/adapters/dynamodb/account-binding-store';
import type { LiveResult } from '../../functions/live/handler';
import type { WebSocketRouteKey } from '../../functions/manifest';
import { ChatServiceSink } from '../../local/sandbox/chat-service-sink';
import { KommoSandbox } from '../../local/sandbox/kommo-sandbox';
import { testSecrets } from '../support/test-bridge';
import { bundleFindings, type EsbuildMetafile } from './bundle-contents';
import { ApiGatewayManagementStandIn, SecretsManagerStandIn, SqsStandIn, type SentMessage } from './aws-stand-ins';
import { CloudAssembly, synthesize, type PhysicalValues, type TemplateFunction } from './cloud-assembly';
import { DeployedFunction, InvocationFailed } from './deployed-function';

/**
 * What we deploy is what we tested: the bundles `cdk synth` put in the cloud assembly (the ones
 * `cdk deploy` uploads), each started in its own Node.js process with exactly the environment its
 * template gives it, tokens resolved to local stand-ins, and run with real requests against DynamoDB
 * Local, a Kommo sandbox and a chat-service sink that verify signatures as the real parties do.
 */

const REGION = 'eu-central-1';
const ACCOUNT_ID = '000000000000';
/** Lambda hands every function temporary role credentials; fixed fake ones stand in (DynamoDB Local keys its data by them). */
const credentials = {
  AWS_ACCESS_KEY_ID: 'ASIABUNDLETEST000000',
  AWS_SECRET_ACCESS_KEY: 'bundle-test-fake-secret-access-key',
  AWS_SESSION_TOKEN: 'bundle-test-fake-session-token',
};

const channelId = 'c0ffee00-0000-4000-8000-0000000b0d1e';
const accountId = '52e591f7-c98f-4255-8495-827210138c81';
const scopeId = `${channelId}_${accountId}`;
const secrets = testSecrets();
const chatService = new StandardWebhookVerifier(secrets.chatServiceSecret);

/** What `Ref` of the HTTP API resolves to once deployed: its API id (its URL is the integration's default Redirect URI). */
const HTTP_API_ID = 'httpapi0b0d';
/** The Kommo integration installs are for, and the account that installs it. */
const integrationId = '6c1b9e2a-3f4d-4a5b-8c7d-0000000b0d1e';
const installingAccount = {
  id: 32_000_001,
  subdomain: 'bundleaccount',
  amojoId: '7d2f0c1e-5d0b-4c47-9d4f-00000000b0d1',
};

const kommo = new KommoSandbox({
  channelId,
  channelSecret: secrets.channelSecret,
  integration: {
    clientId: integrationId,
    clientSecret: secrets.kommoClientSecret,
    redirectUri: `https://${HTTP_API_ID}.execute-api.eu-central-1.amazonaws.com/kommo/install`,
  },
  accounts: [installingAccount],
});
const sink = new ChatServiceSink({ secret: secrets.chatServiceSecret });
const sqs = new SqsStandIn({ region: REGION, accessKeyId: credentials.AWS_ACCESS_KEY_ID });
const secretsManager = new SecretsManagerStandIn({ region: REGION, accessKeyId: credentials.AWS_ACCESS_KEY_ID });
const managementApi = new ApiGatewayManagementStandIn({ region: REGION, accessKeyId: credentials.AWS_ACCESS_KEY_ID });
/** What `Ref` of the live channel's WebSocket API resolves to once deployed: its API id. */
const LIVE_API_ID = 'liveapi0b0d';

let outdir: string;
let assembly: CloudAssembly;
let dynamo: DynamoDBClient;
let tableName: string;
let physical: PhysicalValues;
/** The ARN of each group's secret, as filled in by the operator. */
const secretArns = new Map<SecretGroup, string>();
/** Everything the test adds to a function's template environment, and nothing else. */
let awsAccess: Record<string, string>;
/** The value of every generated secret setting, to prove none reaches a log line. */
let secretValues: string[];
const templateFunctions = new Map<FunctionName, TemplateFunction>();
const running = new Map<FunctionName, DeployedFunction>();
const extraProcesses: DeployedFunction[] = [];
const queueUrls = new Map<string, string>();
const timings: Record<string, number> = {};

const pascalCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());
const nameOf = (logicalId: string) => [...templateFunctions].find(([, fn]) => fn.logicalId === logicalId)?.[0];
const deployed = (name: FunctionName) => running.get(name)!;

/** The queue a manifest queue's URL variable points at in the template, as a URL of the SQS stand-in. */
function queueUrl(name: QueueName): string {
  const variable = queueSpecs.find((spec) => spec.name === name)!.urlVariable;
  for (const fn of templateFunctions.values()) {
    const value = fn.environment[variable];
    if (value !== undefined) return assembly.resolve(value, physical, variable);
  }
  throw new Error(`no function has ${variable}`);
}

/** The function's template environment with every token resolved, plus region, credentials and the SDK's endpoint variables. */
function environmentOf(fn: TemplateFunction, resolution: PhysicalValues = physical): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [variable, value] of Object.entries(fn.environment)) {
    environment[variable] = assembly.resolve(value, resolution, `${fn.logicalId} ${variable}`);
  }
  const clashes = Object.keys(awsAccess).filter((variable) => variable in environment);
  if (clashes.length > 0) throw new Error(`${fn.logicalId} sets ${clashes.join(', ')}, which Lambda reserves`);
  return { ...environment, ...awsAccess };
}

function startFunction(name: FunctionName, resolution?: PhysicalValues): Promise<DeployedFunction> {
  const fn = templateFunctions.get(name)!;
  return DeployedFunction.start({
    name,
    taskRoot: fn.codeDirectory,
    handler: fn.handler,
    environment: environmentOf(fn, resolution),
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
  });
}

/** Like the one CloudFormation generates: 48 letters and digits. */
const anAdminToken = () =>
  randomBytes(36)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x');

/** The group a secret of the template holds, from its logical id (`KommoChannelSecret…`). */
function groupOfSecret(logicalId: string): SecretGroup {
  const group = (Object.keys(secretGroups) as SecretGroup[]).find((candidate) =>
    logicalId.startsWith(`${pascalCase(candidate)}Secret`),
  );
  if (!group) throw new Error(`${logicalId} is no secret group of functions/core/config.ts`);
  return group;
}

/** The logical id of a group's secret in the template. */
function secretLogicalId(group: SecretGroup): string {
  const ids = Object.entries(assembly.resources)
    .filter(([id, resource]) => resource.Type === 'AWS::SecretsManager::Secret' && groupOfSecret(id) === group)
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${group} secret in the template, found ${ids.length}`);
  return ids[0]!;
}

/** A group's secret as the stack creates it (its template value, or template plus generated key), with the values the operator fills in. */
function groupSecret(
  group: SecretGroup,
  filledIn: Readonly<Record<string, string>>,
  options: { withoutKey?: string; generated?: string } = {},
): string {
  const resource = assembly.resources[secretLogicalId(group)]!;
  let secret: Record<string, string>;
  if (resource.Properties?.GenerateSecretString) {
    const { template, generatedKey } = assembly.generatedSecretTemplate(secretLogicalId(group));
    secret = { ...template, [generatedKey]: options.generated ?? anAdminToken() };
  } else {
    secret = JSON.parse(resource.Properties!.SecretString as string) as Record<string, string>;
  }
  Object.assign(secret, filledIn);
  if (options.withoutKey !== undefined) delete secret[options.withoutKey];
  return JSON.stringify(secret);
}

/** The physical values with one group's secret replaced by another ARN. */
const withSecret = (group: SecretGroup, arn: string): PhysicalValues => ({
  ...physical,
  resources: {
    ...physical.resources,
    'AWS::SecretsManager::Secret': (logicalId) =>
      groupOfSecret(logicalId) === group ? arn : secretArns.get(groupOfSecret(logicalId))!,
  },
});

beforeAll(async () => {
  // Prepare: the assembly `cdk synth` writes, exactly as `cdk deploy` would upload it.
  const synthStarted = Date.now();
  outdir = mkdtempSync(join(tmpdir(), 'bridge-assembly-'));
  await synthesize(outdir);
  timings.synthMs = Date.now() - synthStarted;
  assembly = new CloudAssembly(outdir);
  for (const fn of assembly.functions()) {
    const name = functionSpecs.find((spec) => fn.constructPath.includes(`/${pascalCase(spec.name)}Function/`))?.name;
    if (!name) throw new Error(`${fn.constructPath} is no function of the manifest`);
    templateFunctions.set(name, fn);
  }

  // The parties and services the bundles talk to.
  const [kommoUrl, sinkUrl, sqsEndpoint, secretsManagerEndpoint, managementApiEndpoint] = await Promise.all([
    kommo.start(),
    sink.start(),
    sqs.start(),
    secretsManager.start(),
    managementApi.start(),
  ]);
  const dynamoEndpoint = inject('dynamoEndpoint');
  dynamo = new DynamoDBClient({
    endpoint: dynamoEndpoint,
    region: REGION,
    credentials: { accessKeyId: credentials.AWS_ACCESS_KEY_ID, secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY },
  });
  tableName = `${assembly.stackName}-bundle-test-${randomUUID()}`;
  // TTL on, as deployed: the bundles run on the wall clock, like DynamoDB Local's reaper.
  await createBridgeTable(dynamo, tableName);
  for (const [logicalId, resource] of Object.entries(assembly.resources)) {
    if (resource.Type === 'AWS::SQS::Queue')
      queueUrls.set(logicalId, sqs.addQueue(sqsEndpoint, ACCOUNT_ID, `${assembly.stackName}-${logicalId}`));
  }
  const adminToken = anAdminToken();
  secretValues = [
    secrets.channelSecret,
    secrets.chatServiceSecret,
    secrets.chatServiceSecret.slice('whsec_'.length),
    adminToken,
    secrets.kommoClientSecret,
  ];
  const filledIn: Readonly<Record<SecretGroup, string>> = {
    'kommo-channel-id': groupSecret('kommo-channel-id', { KOMMO_CHANNEL_ID: channelId }),
    'kommo-channel': groupSecret('kommo-channel', { KOMMO_CHANNEL_SECRET: secrets.channelSecret }),
    'chat-service': groupSecret('chat-service', { CHAT_SERVICE_SECRET: secrets.chatServiceSecret }),
    'kommo-integration': groupSecret('kommo-integration', { KOMMO_CLIENT_SECRET: secrets.kommoClientSecret }),
    admin: groupSecret('admin', {}, { generated: adminToken }),
  };
  for (const [group, value] of Object.entries(filledIn) as [SecretGroup, string][]) {
    secretArns.set(
      group,
      secretsManager.putSecret(REGION, ACCOUNT_ID, `${assembly.stackName}-${pascalCase(group)}Secret`, value),
    );
  }
  physical = {
    // `cdk deploy --parameters …`; parameters not given keep their defaults (KommoHookForwardUrl, TypingRefreshSeconds).
    // KommoRedirectUri is left out: it defaults to this API's /kommo/install.
    parameters: {
      ChatServiceUrl: sinkUrl,
      KommoApiUrl: kommoUrl,
      ChatServiceStatusUrl: sink.statusUrlTemplate,
      KommoClientId: integrationId,
      KommoAccountUrl: kommo.accountUrlTemplate,
    },
    resources: {
      'AWS::SQS::Queue': (logicalId) => queueUrls.get(logicalId)!,
      'AWS::DynamoDB::Table': () => tableName,
      'AWS::SecretsManager::Secret': (logicalId) => secretArns.get(groupOfSecret(logicalId))!,
      'AWS::ApiGatewayV2::Api': (logicalId) =>
        assembly.resources[logicalId]?.Properties?.ProtocolType === 'WEBSOCKET' ? LIVE_API_ID : HTTP_API_ID,
    },
    pseudoParameters: { 'AWS::Region': REGION, 'AWS::URLSuffix': 'amazonaws.com' },
    // The stage's callback URL is on the API's own host; here that host is the Management API stand-in.
    origins: { [`https://${LIVE_API_ID}.execute-api.${REGION}.amazonaws.com`]: managementApiEndpoint },
  };
  awsAccess = {
    AWS_REGION: REGION,
    ...credentials,
    // The SDK's standard per-service endpoint variables (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManagerEndpoint,
  };

  // Every function as a warm container: loaded once (init reads the secret), invoked by the tests.
  const startStarted = Date.now();
  await Promise.all(functionSpecs.map(async (spec) => running.set(spec.name, await startFunction(spec.name))));
  timings.startMs = Date.now() - startStarted;
  // A bound, not a wait: cdk synth (esbuild for every function) takes about a minute alone and several on a loaded machine.
}, 480_000);

afterAll(async () => {
  await Promise.all([...running.values(), ...extraProcesses].map((fn) => fn.stop()));
  await Promise.all([kommo.close(), sink.close(), sqs.close(), secretsManager.close(), managementApi.close()]);
  if (dynamo) {
    await dynamo.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    dynamo.destroy();
  }
  if (outdir) rmSync(outdir, { recursive: true, force: true });
  console.info(`bundle test: cdk synth ${timings.synthMs} ms, nine bundles started in ${timings.startMs} ms`);
});

interface ApiAnswer {
  /** The function the template routes the request to. */
  functionName: FunctionName | undefined;
  status: number;
  headers: Record<string, unknown>;
  body: any;
}

interface HttpRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The payload 2.0 event API Gateway delivers for a request. */
const apiEvent = (request: HttpRequest) =>
  toApiGatewayEvent(
    { method: request.method, url: request.path, headers: request.headers, body: Buffer.from(request.body) },
    Date.now(),
  ).event;

/** A request as API Gateway delivers it: its event, to the function the template's route integrates. */
async function callApi(request: HttpRequest): Promise<ApiAnswer> {
  const event = apiEvent(request);
  const functionName = nameOf(assembly.functionForRoute(event.routeKey));
  const result = await deployed(functionName!).invoke<ApiResult>(event);
  // Pages (the install route's) stay text; every other answer is JSON.
  const page = String(result.headers?.['content-type'] ?? '').startsWith('text/html');
  return {
    functionName,
    status: result.statusCode,
    headers: result.headers ?? {},
    body: result.body ? (page ? result.body : JSON.parse(result.body)) : undefined,
  };
}

/** A `/chat/...` request signed by the chat service (Standard Webhooks). */
function chatServiceRequest(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): HttpRequest {
  const raw = body === undefined ? '' : JSON.stringify(body);
  const webhookId = `msg_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = chatService.sign(webhookId, timestamp, raw);
  return {
    method,
    path,
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    },
    body: raw,
  };
}

/** A Kommo hook to `/kommo/{scope_id}`, signed with `channelSecret` (the real one unless forging). */
function kommoHookRequest(hook: unknown, channelSecret = secrets.channelSecret): HttpRequest {
  const raw = JSON.stringify(hook);
  return {
    method: 'POST',
    path: `/kommo/${scopeId}`,
    headers: { 'content-type': 'application/json', 'x-signature': signKommoHook(raw, channelSecret) },
    body: raw,
  };
}

const callAsChatService = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
  callApi(chatServiceRequest(method, path, body));
const callAsKommo = (hook: unknown, channelSecret?: string) => callApi(kommoHookRequest(hook, channelSecret));

/** A Kommo-user typing hook as Kommo sends it (docs/kommo.md). */
function typingHook(conversation: { kommoId: string; clientId: string }, expiresInSeconds: number) {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return {
    account_id: accountId,
    time: nowSeconds,
    action: {
      typing: {
        user: { id: 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89' },
        conversation: { id: conversation.kommoId, client_id: conversation.clientId },
        expired_at: nowSeconds + expiresInSeconds,
      },
    },
  };
}

const aConversation = () => ({ kommoId: randomUUID(), clientId: `c-${randomUUID()}` });

/** What runs while `act` runs: every SendMessage the stand-in accepted. */
async function messagesSentDuring<T>(act: () => Promise<T>): Promise<{ result: T; sent: SentMessage[] }> {
  const before = sqs.sent.length;
  const result = await act();
  return { result, sent: sqs.sent.slice(before) };
}

const bodyOf = <T>(message: SentMessage) => JSON.parse(message.body) as T;

/** A message put on a queue by hand, as if a producer had sent it. */
function aQueuedMessage(queue: QueueName, body: unknown): SentMessage {
  return {
    queueUrl: queueUrl(queue),
    body: JSON.stringify(body),
    delaySeconds: 0,
    sentAtMs: Date.now(),
    messageId: randomUUID(),
  };
}

/**
 * Delivers messages of one queue the way Lambda's SQS event source does: to the function the
 * template maps to that queue, once their `DelaySeconds` have passed, as one SQS event.
 */
async function deliver(
  messages: SentMessage[],
): Promise<{ consumer: FunctionName | undefined; response: SQSBatchResponse }> {
  const urls = new Set(messages.map((message) => message.queueUrl));
  expect(urls.size, 'one queue per batch').toBe(1);
  const queueLogicalId = [...queueUrls].find(([, url]) => urls.has(url))![0];
  const mapping = assembly.consumerOf(queueLogicalId);
  expect(mapping.reportsItemFailures).toBe(true);
  expect(messages.length).toBeLessThanOrEqual(mapping.batchSize);
  const dueAt = Math.max(...messages.map((message) => message.sentAtMs + message.delaySeconds * 1000));
  if (dueAt > Date.now()) await sleep(dueAt - Date.now() + 20);
  const queueName = [...urls][0]!.split('/').at(-1)!;
  const records = messages.map(
    (message): SQSRecord => ({
      messageId: message.messageId,
      receiptHandle: randomBytes(48).toString('base64'),
      body: message.body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(message.sentAtMs),
        SenderId: 'AROABUNDLETEST:producer',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(message.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${queueName}`,
      awsRegion: REGION,
    }),
  );
  const consumer = nameOf(mapping.functionLogicalId);
  const response = await deployed(consumer!).invoke<SQSBatchResponse>({ Records: records } satisfies SQSEvent);
  return { consumer, response };
}

describe('the assembly', () => {
  it('holds one bundle per manifest function', () => {
    expect([...templateFunctions.keys()].sort()).toEqual(functionSpecs.map((spec) => spec.name).sort());
    expect(new Set([...templateFunctions.values()].map((fn) => fn.codeDirectory)).size).toBe(functionSpecs.length);
  });

  it.each(functionSpecs)(
    '$name runs with exactly its template environment, plus region, credentials and SDK endpoints',
    (spec) => {
      const fromTemplate = Object.keys(templateFunctions.get(spec.name)!.environment);
      expect(deployed(spec.name).environmentNames).toEqual([...fromTemplate, ...Object.keys(awsAccess)].sort());
    },
  );

  it('every bundle reads exactly the secrets its manifest entry names from Secrets Manager at init, once each, by the ARNs in its environment', async () => {
    // Init starts the reads at module load; they may still be under way when the module has loaded.
    const expected = functionSpecs.flatMap((spec) => spec.secrets.map((group) => secretArns.get(group)!));
    await vi.waitFor(() => expect(secretsManager.requested).toHaveLength(expected.length), { timeout: 10_000 });
    expect([...secretsManager.requested].sort()).toEqual(expected.sort());
  });
});

describe('what each bundle carries (esbuild metafile beside the bundle)', () => {
  it.each(functionSpecs)('$name carries no client or library its manifest entry does not need', (spec) => {
    const metafile = JSON.parse(
      readFileSync(join(templateFunctions.get(spec.name)!.codeDirectory, 'index.meta.json'), 'utf8'),
    ) as EsbuildMetafile;
    expect(bundleFindings(spec, metafile)).toEqual([]);
  });

  it('is an ES module named index.mjs, which the Handler setting index.handler resolves to', () => {
    for (const [name, fn] of templateFunctions) {
      expect(fn.handler, name).toBe('index.handler');
      expect(existsSync(join(fn.codeDirectory, 'index.mjs')), name).toBe(true);
      expect(existsSync(join(fn.codeDirectory, 'index.js')), name).toBe(false);
    }
  });
});

describe('kommo-hook', () => {
  it('answers a signed typing hook with 200 and queues exactly one hook job', async () => {
    // Prepare
    const conversation = aConversation();
    const hook = typingHook(conversation, 5);

    // Act
    const { result: answer, sent } = await messagesSentDuring(() => callAsKommo(hook));

    // Assess
    expect(answer).toMatchObject({ functionName: 'kommo-hook', status: 200, body: { ok: true } });
    expect(sent.map((message) => message.queueUrl)).toEqual([queueUrl('hooks')]);
    const job = bodyOf<KommoHookJob>(sent[0]!);
    expect(job).toMatchObject({ scopeId, accountId, attempt: 1 });
    expect(JSON.parse(Buffer.from(job.rawBody, 'base64').toString('utf8'))).toEqual(hook);
  });

  it('refuses a forged hook with 401 and queues nothing', async () => {
    // Act
    const { result: answer, sent } = await messagesSentDuring(() =>
      callAsKommo(typingHook(aConversation(), 5), randomBytes(20).toString('hex')),
    );

    // Assess
    expect(answer).toMatchObject({
      functionName: 'kommo-hook',
      status: 401,
      body: { error: { code: 'invalid_signature' } },
    });
    expect(sent).toEqual([]);
  });

  it("every line an invocation logs carries that invocation's Lambda request id, API Gateway request id and cold start", async () => {
    // Prepare: hooks that expired in transit, which the function drops; each invocation ends with its INFO line.
    const kommoHook = deployed('kommo-hook');
    const linesBefore = kommoHook.structuredLogs().length;
    const events = [
      apiEvent(kommoHookRequest(typingHook(aConversation(), -60))),
      apiEvent(kommoHookRequest(typingHook(aConversation(), -60))),
    ];

    // Act
    for (const event of events) await kommoHook.invoke(event);

    // Assess: the lines reach stdout apart from the answers, so wait for them (bounded). An earlier test's
    // line may still be on its way, so only the lines naming these two requests count.
    const ids = new Set(events.map((event) => event.requestContext.requestId));
    const lines = await kommoHook.structuredLogsWhen(
      (line) => line.message === 'answered' && ids.has(String(line.api_gateway_request_id)),
      2,
    );
    expect(lines.map((line) => line.api_gateway_request_id)).toEqual(
      events.map((event) => event.requestContext.requestId),
    );
    for (const line of lines) {
      expect(line).toMatchObject({
        level: 'INFO',
        route: 'POST /kommo/{scope_id}',
        status: expect.any(Number),
        scope_id: expect.any(String),
        duration_ms: expect.any(Number),
        cold_start: expect.any(Boolean),
        function_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      // The log group names the function: its name, ARN and memory size are not repeated on every line.
      expect(line).not.toHaveProperty('function_name');
      expect(line).not.toHaveProperty('function_arn');
    }
    // What the request did in detail is DEBUG: not written at the production level.
    expect(
      kommoHook
        .structuredLogs()
        .slice(linesBefore)
        .filter((line) => line.message === 'typing hook already expired; dropped'),
    ).toEqual([]);
    // The second invocation of a process is warm, whatever ran before.
    expect(lines[1]!.cold_start).toBe(false);
    expect(new Set(lines.map((line) => line.function_request_id)).size).toBe(2);
  });
});

describe('chat-typing', () => {
  it('a signed start: 202, one Kommo typing call, a refresh timer queued and the typing window stored', async () => {
    // Prepare
    const conversationId = `c-${randomUUID()}`;
    const senderId = 'u-7';
    const callsBefore = kommo.typingCalls().length;
    // The bundle runs on the wall clock: its window starts no earlier than this, however long the call takes.
    const requestedAt = Date.now();

    // Act
    const { result: answer, sent } = await messagesSentDuring(() =>
      callAsChatService('POST', `/chat/${scopeId}/typing`, {
        conversation_id: conversationId,
        sender_id: senderId,
        state: 'start',
        ttl_seconds: 6,
      }),
    );

    // Assess
    expect(answer).toMatchObject({ functionName: 'chat-typing', status: 202, body: { ok: true } });
    expect(
      kommo
        .typingCalls()
        .slice(callsBefore)
        .map((call) => [call.scopeId, call.body]),
    ).toEqual([[scopeId, { conversation_id: conversationId, sender: { id: senderId } }]]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ queueUrl: queueUrl('timers'), delaySeconds: 4 });
    expect(bodyOf<TimerJob>(sent[0]!)).toEqual({ kind: 'client-typing-refresh', scopeId, conversationId, senderId });
    const { Item } = await documentClient(dynamo).send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: `TYPING#${scopeId}#${conversationId}#${senderId}`, sk: 'CLIENT' },
      }),
    );
    expect(Item?.activeUntilMs).toBeGreaterThanOrEqual(requestedAt + 6000);
    expect(Item?.expiresAt).toBeGreaterThanOrEqual(Math.floor((requestedAt + 6000) / 1000));
  });
});

describe('chat-status', () => {
  it('POST stores the status and queues its sync (202); GET then answers it (200)', async () => {
    // Prepare
    const msgid = `msg-${randomUUID()}`;
    const path = `/chat/${scopeId}/messages/${msgid}/status`;
    const postedAt = Date.now();

    // Act
    const { result: posted, sent } = await messagesSentDuring(() =>
      callAsChatService('POST', path, { status: 'read' }),
    );
    const read = await callAsChatService('GET', path);

    // Assess
    expect(posted).toMatchObject({
      functionName: 'chat-status',
      status: 202,
      body: { ok: true, applied: true, status: 'read' },
    });
    expect(sent.map((message) => [message.queueUrl, bodyOf(message)])).toEqual([
      [queueUrl('kommo-status'), { scopeId, msgid, attempt: 1 }],
    ]);
    expect(read).toMatchObject({
      functionName: 'chat-status',
      status: 200,
      body: { msgid, status: 'read', kommo: { delivered: false, attempts: 0 } },
    });
    expect(Date.parse(read.body.updated_at)).toBeGreaterThanOrEqual(postedAt);
    expect(Date.parse(read.body.updated_at)).toBeLessThanOrEqual(Date.now());
  });
});

describe('chat-presence', () => {
  it('POST online (202) opens a window with its expiry timer; GET then answers online (200)', async () => {
    // Prepare
    const clientId = `client-${randomUUID()}`;

    // Act
    const { result: posted, sent } = await messagesSentDuring(() =>
      callAsChatService('POST', `/chat/${scopeId}/presence`, { client_id: clientId, state: 'online', ttl_seconds: 60 }),
    );
    const read = await callAsChatService('GET', `/chat/${scopeId}/presence/${clientId}`);

    // Assess
    expect(posted).toMatchObject({ functionName: 'chat-presence', status: 202, body: { ok: true } });
    expect(sent.map((message) => [message.queueUrl, message.delaySeconds, bodyOf<TimerJob>(message).kind])).toEqual([
      [queueUrl('timers'), 60, 'presence-expiry'],
    ]);
    expect(read).toMatchObject({
      functionName: 'chat-presence',
      status: 200,
      body: { client_id: clientId, online: true },
    });
    expect(Date.parse(read.body.expires_at) - Date.parse(read.body.last_seen_at)).toBe(60_000);
  });
});

describe('kommo-install', () => {
  const bindingItem = async () =>
    (
      await documentClient(dynamo).send(
        new GetCommand({
          TableName: tableName,
          Key: { pk: `ACCOUNT#${installingAccount.id}`, sk: 'BINDING' },
          ConsistentRead: true,
        }),
      )
    ).Item;
  const installPath = (code: string) =>
    `/kommo/install?code=${encodeURIComponent(code)}&referer=${installingAccount.subdomain}.kommo.com&platform=2`;

  it("takes this API's own /kommo/install as the Redirect URI when KommoRedirectUri is left empty", () => {
    expect(environmentOf(templateFunctions.get('kommo-install')!).KOMMO_REDIRECT_URI).toBe(
      `https://${HTTP_API_ID}.execute-api.${REGION}.amazonaws.com/kommo/install`,
    );
  });

  it('an install connects the account (code exchanged at its host, then Kommo connect); the disable hook disconnects it', async () => {
    // Prepare
    const code = kommo.issueAuthorizationCode(installingAccount.subdomain);
    const callsBefore = kommo.calls.length;

    // Act
    const installed = await callApi({
      method: 'GET',
      path: installPath(code),
      headers: { accept: 'text/html' },
      body: '',
    });
    const bound = await bindingItem();
    const accountId = String(installingAccount.id);
    const signature = createHmac('sha256', secrets.kommoClientSecret)
      .update(`${integrationId}|${accountId}`)
      .digest('hex');
    const uninstalled = await callApi({
      method: 'GET',
      path: `/kommo/uninstall?account_id=${accountId}&client_uuid=${integrationId}&signature=${signature}`,
      headers: {},
      body: '',
    });

    // Assess
    expect(installed).toMatchObject({
      functionName: 'kommo-install',
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
    });
    expect(installed.body).toContain('<h1>Connected</h1>');
    const calls = kommo.calls.slice(callsBefore);
    expect(calls.map((call) => call.method)).toEqual(['oauth_token', 'account', 'connect', 'disconnect']);
    expect(calls[2]!.body).toMatchObject({ account_id: installingAccount.amojoId });
    expect(bound).toMatchObject({
      kommoAccountId: installingAccount.id,
      amojoAccountId: installingAccount.amojoId,
      scopeId: `${channelId}_${installingAccount.amojoId}`,
    });
    expect(uninstalled).toMatchObject({
      functionName: 'kommo-install',
      status: 200,
      body: { ok: true, kommo_account_id: installingAccount.id, disconnected: true },
    });
    expect(await bindingItem()).toBeUndefined();
    // The code and the access token are secrets too: checked against every log line below.
    secretValues.push(code, (calls[1] as { accessToken: string }).accessToken);
  });

  it('without KommoClientId, both routes answer 503 and call no one', async () => {
    // Prepare: the same bundle, deployed with the parameter left empty.
    const unconfigured = await startFunction('kommo-install', {
      ...physical,
      parameters: { ...physical.parameters, KommoClientId: '' },
    });
    extraProcesses.push(unconfigured);
    const callsBefore = kommo.calls.length;

    // Act
    const installed = await unconfigured.invoke<ApiResult>(
      apiEvent({ method: 'GET', path: installPath('def50200x'), headers: {}, body: '' }),
    );
    const uninstalled = await unconfigured.invoke<ApiResult>(
      apiEvent({
        method: 'GET',
        path: '/kommo/uninstall?account_id=1&client_uuid=x&signature=y',
        headers: {},
        body: '',
      }),
    );

    // Assess
    expect(installed).toMatchObject({ statusCode: 503, headers: { 'content-type': 'text/html; charset=utf-8' } });
    expect(installed.body).toContain('Code: not_configured');
    expect(uninstalled.statusCode).toBe(503);
    expect(JSON.parse(uninstalled.body)).toMatchObject({ error: { code: 'not_configured' } });
    expect(kommo.calls.length).toBe(callsBefore);
  });
});

describe('not-found', () => {
  it.each([
    { request: 'GET /nowhere', method: 'GET', path: '/nowhere', status: 404, code: 'unknown_route' },
    {
      request: 'DELETE on the typing route',
      method: 'DELETE',
      path: `/chat/${scopeId}/typing`,
      status: 405,
      code: 'method_not_allowed',
    },
  ])('$request: $status with the JSON error shape', async ({ method, path, status, code }) => {
    // Act
    const answer = await callApi({ method, path, headers: {}, body: '' });

    // Assess
    expect(answer).toMatchObject({
      functionName: 'not-found',
      status,
      body: { error: { code, message: expect.any(String) } },
    });
    expect(Object.keys(answer.body)).toEqual(['error']);
    expect(String(answer.headers['content-type'])).toMatch(/^application\/json/);
  });
});

describe('queue consumers', () => {
  it('hook-worker: a queued typing hook reaches the chat service as typing.started, signed, and sets an expiry timer', async () => {
    // Prepare: the job kommo-hook queued for a signed hook.
    const conversation = aConversation();
    const { sent: hookJobs } = await messagesSentDuring(() => callAsKommo(typingHook(conversation, 5)));

    // Act
    const { result: delivery, sent } = await messagesSentDuring(() => deliver(hookJobs));

    // Assess: the event went out from the hook worker itself; only the timer was queued.
    expect(delivery).toEqual({ consumer: 'hook-worker', response: { batchItemFailures: [] } });
    const received = sink.events.filter((event) => event.data.kommo_conversation_id === conversation.kommoId);
    expect(received.map((event) => [event.type, event.data.scope_id, event.data.conversation_id])).toEqual([
      ['typing.started', scopeId, conversation.clientId],
    ]);
    expect(sent.filter((message) => message.queueUrl === queueUrl('events'))).toEqual([]);
    const timers = sent.filter((message) => message.queueUrl === queueUrl('timers'));
    expect(timers.map((message) => bodyOf<TimerJob>(message).kind)).toEqual(['manager-typing-expiry']);
    expect(timers[0]!.delaySeconds).toBeGreaterThanOrEqual(4);
  });

  it('event-dispatcher: a queued event reaches the chat service, signed', async () => {
    // Prepare
    const job: EventJob = {
      attempt: 1,
      event: {
        type: 'conversation.read',
        id: `evt_${randomUUID().replaceAll('-', '')}`,
        timestamp: new Date().toISOString(),
        data: {
          scope_id: scopeId,
          account_id: accountId,
          conversation_id: 'c-1',
          kommo_conversation_id: randomUUID(),
          user_id: randomUUID(),
          read_at: new Date().toISOString(),
        },
      },
    };

    // Act
    const delivery = await deliver([aQueuedMessage('events', job)]);

    // Assess
    expect(delivery).toEqual({ consumer: 'event-dispatcher', response: { batchItemFailures: [] } });
    expect(sink.events.filter((event) => event.id === job.event.id)).toEqual([
      expect.objectContaining({ type: 'conversation.read', data: job.event.data }),
    ]);
  });

  it('timer-worker: at the deadline of a typing that was not renewed, typing.stopped goes out, once', async () => {
    // Prepare: a Kommo user typing that ends within 3 s, through kommo-hook and hook-worker (typing.started sent from there).
    const conversation = aConversation();
    const { sent: hookJobs } = await messagesSentDuring(() => callAsKommo(typingHook(conversation, 3)));
    const { sent: fromHookWorker } = await messagesSentDuring(() => deliver(hookJobs));
    const expiryTimers = fromHookWorker.filter((message) => message.queueUrl === queueUrl('timers'));

    // Act: the timer, delivered no earlier than its DelaySeconds allow.
    const { result: delivery, sent } = await messagesSentDuring(() => deliver(expiryTimers));

    // Assess: the stop went out from the timer worker itself, and nothing was queued.
    expect(delivery).toEqual({ consumer: 'timer-worker', response: { batchItemFailures: [] } });
    expect(sent).toEqual([]);
    const received = sink.events.filter((event) => event.data.kommo_conversation_id === conversation.kommoId);
    expect(received.map((event) => [event.type, event.data.conversation_id])).toEqual([
      ['typing.started', conversation.clientId],
      ['typing.stopped', conversation.clientId],
    ]);
  });

  it('kommo-status-sender: a queued status sync reaches Kommo, and the status shows it delivered', async () => {
    // Prepare: the sync job chat-status queued.
    const msgid = `msg-${randomUUID()}`;
    const path = `/chat/${scopeId}/messages/${msgid}/status`;
    const { sent: syncJobs } = await messagesSentDuring(() => callAsChatService('POST', path, { status: 'delivered' }));
    expect(syncJobs.map((message) => bodyOf<StatusSyncJob>(message))).toEqual([{ scopeId, msgid, attempt: 1 }]);

    // Act
    const delivery = await deliver(syncJobs);

    // Assess
    expect(delivery).toEqual({ consumer: 'kommo-status-sender', response: { batchItemFailures: [] } });
    expect(
      kommo
        .deliveryStatusCalls()
        .filter((call) => call.msgid === msgid)
        .map((call) => [call.scopeId, call.body]),
    ).toEqual([[scopeId, { msgid, delivery_status: 1 }]]);
    const read = await callAsChatService('GET', path);
    expect(read.body).toMatchObject({ status: 'delivered', kommo: { delivered: true, attempts: 1 } });
  });
});

describe('delivery status pulled from the chat service', () => {
  it('hook-worker starts a poll for an outgoing message; timer-worker asks the chat service, signed, and queues the status for Kommo', async () => {
    // Prepare: the chat service has the message delivered; Kommo's outgoing-message hook arrives.
    const msgid = `msg-${randomUUID()}`;
    sink.setMessageStatus(msgid, { status: 'delivered' });
    const hook = {
      account_id: accountId,
      time: Math.floor(Date.now() / 1000),
      message: {
        conversation: { id: randomUUID(), client_id: 'c-1' },
        message: { id: msgid, type: 'text', text: 'Hello' },
      },
    };
    const { sent: hookJobs } = await messagesSentDuring(() => callAsKommo(hook));

    // Act
    const { result: hookDelivery, sent: firstPoll } = await messagesSentDuring(() => deliver(hookJobs));
    const { result: pollDelivery, sent: afterPoll } = await messagesSentDuring(() => deliver(firstPoll));

    // Assess
    expect(hookDelivery).toEqual({ consumer: 'hook-worker', response: { batchItemFailures: [] } });
    expect(
      firstPoll.map((message) => [message.queueUrl, message.delaySeconds, bodyOf<TimerJob>(message).kind]),
    ).toEqual([[queueUrl('timers'), 1, 'status-poll']]);
    expect(pollDelivery).toEqual({ consumer: 'timer-worker', response: { batchItemFailures: [] } });
    expect(sink.statusQueriesFor(msgid).map((query) => query.answered)).toEqual([200]);
    const syncJobs = afterPoll.filter((message) => message.queueUrl === queueUrl('kommo-status'));
    expect(syncJobs.map((message) => bodyOf<StatusSyncJob>(message))).toEqual([{ scopeId, msgid, attempt: 1 }]);
    expect(
      afterPoll
        .filter((message) => message.queueUrl === queueUrl('timers'))
        .map((message) => [message.delaySeconds, bodyOf<TimerJob>(message).kind]),
    ).toEqual([[2, 'status-poll']]);
    await deliver(syncJobs);
    expect(
      kommo
        .deliveryStatusCalls()
        .filter((call) => call.msgid === msgid)
        .map((call) => call.body),
    ).toEqual([{ msgid, delivery_status: 1 }]);
  });
});

describe('live channel (WebSocket API)', () => {
  const liveStore = () => new DynamoLiveChannelStore({ doc: documentClient(dynamo), tableName });

  // The live function checks the account binding at `$connect` and every frame: the sandbox account is connected
  // (the install block above uninstalled it), bound before any ticket here is issued.
  beforeAll(async () => {
    const bindings = new DynamoAccountBindingStore({ doc: documentClient(dynamo), tableName });
    const account = { amojoAccountId: accountId, kommoAccountId: 31_000_001 };
    expect(await bindings.claimToConnect(account, { claimId: 'live-block', nowMs: Date.now() })).toBeUndefined();
    expect(
      await bindings.bindClaimed(
        { ...account, scopeId, title: 'Live channel', boundAtMs: Date.now() - 1_000 },
        'live-block',
      ),
    ).toBe(true);
  });

  /** An event of the live channel's WebSocket API, to the function the template routes its key to. */
  async function callLive(
    routeKey: WebSocketRouteKey,
    connection: { connectionId: string; connectedAtMs: number; ticket?: string },
    frame?: unknown,
  ) {
    const event = toWebSocketEvent(
      routeKey,
      {
        ...connection,
        handshake: {
          url: `/live${connection.ticket === undefined ? '' : `?ticket=${encodeURIComponent(connection.ticket)}`}`,
          headers: { host: `${LIVE_API_ID}.execute-api.${REGION}.amazonaws.com` },
        },
      },
      Date.now(),
      frame === undefined ? undefined : { data: Buffer.from(JSON.stringify(frame)), binary: false },
    );
    const functionName = nameOf(assembly.functionForWebSocketRoute(routeKey));
    return { functionName, result: await deployed(functionName!).invoke<LiveResult>(event) };
  }

  /** A ticket as `POST /widget/live` stores it, for the sandbox account's Kommo user. */
  async function aTicket(): Promise<string> {
    const ticketId = randomBytes(32).toString('base64url');
    await liveStore().issueTicket({
      ticketId,
      validUntilMs: Date.now() + 60_000,
      scopeId,
      accountId,
      kommoAccountId: 31_000_001,
      kommoUserId: 7001,
    });
    return ticketId;
  }

  async function aConnection() {
    const connection = { connectionId: newConnectionId(), connectedAtMs: Date.now() };
    const { result } = await callLive('$connect', { ...connection, ticket: await aTicket() });
    expect(result.statusCode).toBe(200);
    return connection;
  }

  it('$connect: refused 401 without a ticket, accepted with one (once), and the connection recorded', async () => {
    // Prepare
    const ticket = await aTicket();
    const connection = { connectionId: newConnectionId(), connectedAtMs: Date.now() };

    // Act
    const without = await callLive('$connect', { connectionId: newConnectionId(), connectedAtMs: Date.now() });
    const accepted = await callLive('$connect', { ...connection, ticket });
    const again = await callLive('$connect', { connectionId: newConnectionId(), connectedAtMs: Date.now(), ticket });

    // Assess
    expect(without).toMatchObject({ functionName: 'live', result: { statusCode: 401 } });
    expect(JSON.parse(without.result.body!)).toMatchObject({ error: { code: 'ticket_required' } });
    expect(accepted).toEqual({ functionName: 'live', result: { statusCode: 200 } });
    expect(JSON.parse(again.result.body!)).toMatchObject({ error: { code: 'invalid_ticket' } });
    expect(await liveStore().connection(connection.connectionId, Date.now())).toMatchObject({
      scopeId,
      kommoUserId: 7001,
    });
  });

  it('$default: a ping is answered pong, a bad frame with an error frame, both through the Management API; $disconnect forgets the connection', async () => {
    // Prepare
    const connection = await aConnection();

    // Act
    const ping = await callLive('$default', connection, { action: 'ping' });
    const bad = await callLive('$default', connection, { action: 'subscribe' });
    const unknownChat = await callLive('$default', connection, {
      action: 'watch',
      kommo_conversation_id: randomUUID(),
    });
    const disconnect = await callLive('$disconnect', connection);

    // Assess
    for (const answer of [ping, bad, unknownChat, disconnect])
      expect(answer).toEqual({ functionName: 'live', result: { statusCode: 200 } });
    expect(
      managementApi.posted
        .filter((frame) => frame.connectionId === connection.connectionId)
        .map((frame) => frame.stage),
    ).toEqual(['live', 'live', 'live']);
    expect(managementApi.postedTo(connection.connectionId)).toEqual([
      { type: 'pong' },
      { type: 'error', code: 'invalid_field', message: expect.any(String) },
      { type: 'error', code: 'unknown_conversation', message: expect.any(String) },
    ]);
    expect(await liveStore().connection(connection.connectionId, Date.now())).toBeUndefined();
  });

  it("chat-presence pushes a watched client's transition to the watching connection, and forgets a connection API Gateway says is gone", async () => {
    // Prepare: a chat the chat service registered, watched by a live connection.
    const conversationId = `c-${randomUUID()}`;
    const clientId = `client-${randomUUID()}`;
    const kommoConversationId = randomUUID();
    const registered = await callAsChatService('PUT', `/chat/${scopeId}/conversations/${conversationId}`, {
      kommo_conversation_id: kommoConversationId,
      client_id: clientId,
    });
    expect(registered).toMatchObject({ functionName: 'chat-conversations', status: 200 });
    const connection = await aConnection();
    const { sent: fromWatch } = await messagesSentDuring(() =>
      callLive('$default', connection, { action: 'watch', kommo_conversation_id: kommoConversationId }),
    );

    // Act
    await callAsChatService('POST', `/chat/${scopeId}/presence`, {
      client_id: clientId,
      state: 'online',
      ttl_seconds: 60,
    });
    managementApi.gone(connection.connectionId);
    const offline = await callAsChatService('POST', `/chat/${scopeId}/presence`, {
      client_id: clientId,
      state: 'offline',
    });

    // Assess
    expect(
      fromWatch.map((message) => [message.queueUrl, message.delaySeconds, bodyOf<TimerJob | EventJob>(message)]),
    ).toEqual([
      [queueUrl('timers'), 90, expect.objectContaining({ kind: 'kommo-user-presence-expiry' })],
      [
        queueUrl('events'),
        0,
        expect.objectContaining({ event: expect.objectContaining({ type: 'presence.changed' }) }),
      ],
    ]);
    expect(managementApi.postedTo(connection.connectionId)).toEqual([
      expect.objectContaining({
        type: 'client.presence',
        kommo_conversation_id: kommoConversationId,
        conversation_id: conversationId,
        client_id: clientId,
        online: false,
      }),
      expect.objectContaining({ type: 'client.presence', client_id: clientId, online: true }),
    ]);
    expect(offline).toMatchObject({ functionName: 'chat-presence', status: 202 });
    expect(await liveStore().watchersOf(scopeId, clientId, Date.now())).toEqual([]);
  });
});

describe('a bundle whose secret lacks a setting', () => {
  it.each([
    {
      name: 'chat-typing' as const,
      variable: 'CHAT_SERVICE_SECRET',
      state: 'without the key',
      group: 'chat-service' as const,
      secret: () => groupSecret('chat-service', {}, { withoutKey: 'CHAT_SERVICE_SECRET' }),
      request: () =>
        chatServiceRequest('POST', `/chat/${scopeId}/typing`, {
          conversation_id: 'c-1',
          sender_id: 'u-7',
          state: 'start',
        }),
    },
    {
      name: 'kommo-hook' as const,
      variable: 'KOMMO_CHANNEL_SECRET',
      state: 'with the key still empty, as deployed',
      group: 'kommo-channel' as const,
      secret: () => groupSecret('kommo-channel', {}),
      request: () => kommoHookRequest(typingHook(aConversation(), 5)),
    },
    {
      // Deployed before Kommo issued the channel: the id is filled in later, like the secrets.
      name: 'chat-status' as const,
      variable: 'KOMMO_CHANNEL_ID',
      state: 'with the key still empty, as deployed',
      group: 'kommo-channel-id' as const,
      secret: () => groupSecret('kommo-channel-id', {}),
      request: () => chatServiceRequest('POST', `/chat/${scopeId}/messages/m-unfilled/status`, { status: 'delivered' }),
    },
  ])(
    '$name, its $group secret $state: a valid request fails, and the log names $variable in one line without secret values',
    async ({ name, group, variable, secret, request }) => {
      // Prepare: the same bundle and environment, the secret ARN resolving to a secret not (fully) filled in.
      const incompleteSecretArn = secretsManager.putSecret(
        REGION,
        ACCOUNT_ID,
        `${assembly.stackName}-Incomplete-${name}`,
        secret(),
      );
      const incomplete = await startFunction(name, withSecret(group, incompleteSecretArn));
      extraProcesses.push(incomplete);
      const kommoCallsBefore = kommo.calls.length;

      // Act
      const { result: outcome, sent } = await messagesSentDuring(() =>
        incomplete.invoke(apiEvent(request())).catch((error: unknown) => error),
      );

      // Assess
      expect(outcome).toBeInstanceOf(InvocationFailed);
      expect(outcome).toMatchObject({ errorType: 'ConfigError', errorMessage: expect.stringContaining(variable) });
      const errors = await incomplete.structuredLogsWhen((entry) => entry.level === 'ERROR', 1);
      expect(errors.length).toBeGreaterThan(0);
      for (const entry of errors) {
        expect(entry.message).toMatch(new RegExp(`^Configuration error: ${variable} [^\\n]+$`));
        expect(entry).not.toHaveProperty('error');
        expect(entry).not.toHaveProperty('stack');
      }
      for (const secretValue of secretValues) expect(incomplete.logLines.join('\n')).not.toContain(secretValue);
      expect(sent).toEqual([]);
      expect(kommo.calls.length).toBe(kommoCallsBefore);
    },
  );
});

describe('a secret filled in after deploy', () => {
  it('is picked up by the next invocation of a container that failed to start, without a redeploy', async () => {
    // Prepare: kommo-hook started against the secret as deployed (KOMMO_CHANNEL_SECRET still empty).
    const arn = secretsManager.putSecret(
      REGION,
      ACCOUNT_ID,
      `${assembly.stackName}-FilledLater`,
      groupSecret('kommo-channel', {}),
    );
    const container = await startFunction('kommo-hook', withSecret('kommo-channel', arn));
    extraProcesses.push(container);
    const first = await container
      .invoke(apiEvent(kommoHookRequest(typingHook(aConversation(), 5))))
      .catch((error: unknown) => error);

    // Act: the operator runs put-secret-value; the same warm container gets the next hook.
    secretsManager.updateSecret(arn, groupSecret('kommo-channel', { KOMMO_CHANNEL_SECRET: secrets.channelSecret }));
    const { result: second } = await messagesSentDuring(() =>
      container.invoke(apiEvent(kommoHookRequest(typingHook(aConversation(), 5)))),
    );

    // Assess
    expect(first).toBeInstanceOf(InvocationFailed);
    expect(second).toMatchObject({ statusCode: 200, body: JSON.stringify({ ok: true }) });
  });

  it('takes the channel id Kommo issued after the deploy, without a redeploy', async () => {
    // Prepare: kommo-hook started against the channel-id secret as deployed (KOMMO_CHANNEL_ID still empty).
    const arn = secretsManager.putSecret(
      REGION,
      ACCOUNT_ID,
      `${assembly.stackName}-ChannelIdLater`,
      groupSecret('kommo-channel-id', {}),
    );
    const container = await startFunction('kommo-hook', withSecret('kommo-channel-id', arn));
    extraProcesses.push(container);
    const first = await container
      .invoke(apiEvent(kommoHookRequest(typingHook(aConversation(), 5))))
      .catch((error: unknown) => error);

    // Act: the operator puts the channel id into its secret; the same warm container gets the next hook.
    secretsManager.updateSecret(arn, groupSecret('kommo-channel-id', { KOMMO_CHANNEL_ID: channelId }));
    const { result: second } = await messagesSentDuring(() =>
      container.invoke(apiEvent(kommoHookRequest(typingHook(aConversation(), 5)))),
    );

    // Assess
    expect(first).toMatchObject({
      errorType: 'ConfigError',
      errorMessage: expect.stringContaining('KOMMO_CHANNEL_ID'),
    });
    expect(second).toMatchObject({ statusCode: 200, body: JSON.stringify({ ok: true }) });
  });
});

describe('after every invocation above', () => {
  // After the bundles' tests on purpose: these read what every invocation above left behind.
  it('no bundle wrote a secret value to its log', () => {
    const everyLine = [...running.values(), ...extraProcesses].flatMap((fn) => fn.logLines);
    expect(everyLine.length).toBeGreaterThan(0);
    for (const secretValue of secretValues) expect(everyLine.filter((line) => line.includes(secretValue))).toEqual([]);
  });

  it('the AWS stand-ins refused nothing the bundles sent', () => {
    expect([...sqs.refused, ...secretsManager.refused, ...managementApi.refused]).toEqual([]);
  });
});

describe('the AWS stand-ins', () => {
  const sdkCredentials = {
    accessKeyId: credentials.AWS_ACCESS_KEY_ID,
    secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY,
  };

  it.each([
    {
      request: 'SQS GetQueueUrl (not modelled)',
      send: () =>
        new SQSClient({ endpoint: awsAccess.AWS_ENDPOINT_URL_SQS, region: REGION, credentials: sdkCredentials }).send(
          new GetQueueUrlCommand({ QueueName: 'any' }),
        ),
      error: 'UnknownOperationException',
    },
    {
      request: 'SQS SendMessage to a queue not in the template',
      send: () =>
        new SQSClient({ endpoint: awsAccess.AWS_ENDPOINT_URL_SQS, region: REGION, credentials: sdkCredentials }).send(
          new SendMessageCommand({
            QueueUrl: `${awsAccess.AWS_ENDPOINT_URL_SQS}/${ACCOUNT_ID}/elsewhere`,
            MessageBody: '{}',
          }),
        ),
      error: 'QueueDoesNotExist',
    },
    {
      request: 'SQS SendMessage with message attributes (not modelled)',
      send: () =>
        new SQSClient({ endpoint: awsAccess.AWS_ENDPOINT_URL_SQS, region: REGION, credentials: sdkCredentials }).send(
          new SendMessageCommand({
            QueueUrl: queueUrl('events'),
            MessageBody: '{}',
            MessageAttributes: { a: { DataType: 'String', StringValue: 'b' } },
          }),
        ),
      error: 'InvalidParameterValue',
    },
    {
      request: 'Secrets Manager GetSecretValue of another secret',
      send: () =>
        new SecretsManagerClient({
          endpoint: awsAccess.AWS_ENDPOINT_URL_SECRETS_MANAGER,
          region: REGION,
          credentials: sdkCredentials,
        }).send(new GetSecretValueCommand({ SecretId: 'another-secret' })),
      error: 'ResourceNotFoundException',
    },
  ])('refuse $request with an AWS error the SDK recognises', async ({ send, error }) => {
    // Act
    const outcome = await send().catch((failure: unknown) => failure);

    // Assess
    expect(outcome).toMatchObject({ name: error, $metadata: { httpStatusCode: 400 } });
  });
});
