import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local stand-ins for the AWS services the bridge calls that no local engine serves (DynamoDB has
 * DynamoDB Local): SQS `SendMessage` and Secrets Manager `GetSecretValue` (below), and API Gateway's
 * Management API `PostToConnection` (`ApiGatewayManagementStandIn`, at the end). The bundled AWS SDK reaches
 * them through the SDK's standard `AWS_ENDPOINT_URL_<SERVICE>` variables, so they speak the wire
 * protocol the bundled clients send (AWS JSON 1.0 for SQS, JSON 1.1 for Secrets Manager, both over
 * SigV4-signed POSTs) and refuse, with an AWS-style 400, anything they do not model rather than
 * accept it: a bridge change that starts sending something new fails here instead of passing unseen.
 *
 * Not modelled: the SigV4 signature itself (only its credential scope is checked), and queue
 * semantics beyond recording (the test delivers recorded messages to their consumers itself).
 */

/** An error answer as the AWS JSON protocols carry it (`__type` plus `message`). */
export class AwsErrorAnswer extends Error {
  constructor(
    readonly type: string,
    message: string,
    /** SQS's JSON protocol also names the error in the query protocol's terms (`awsQueryCompatible`). */
    readonly queryErrorCode?: string,
  ) {
    super(message);
  }
}

type Operation = (input: Record<string, unknown>) => unknown;

interface AwsJsonServiceOptions {
  /** The SigV4 signing name in the credential scope: `sqs`, `secretsmanager`. */
  signingName: string;
  region: string;
  accessKeyId: string;
  /** `x-amz-target` is `<targetPrefix>.<Operation>`. */
  targetPrefix: string;
  jsonVersion: '1.0' | '1.1';
  /** Prefix of `__type` in protocol-level errors (`com.amazonaws.sqs#` for SQS, none for Secrets Manager). */
  errorNamespace: string;
  operations: Readonly<Record<string, Operation>>;
}

/** A request the stand-in refused, kept so a failing test can say why. */
export interface RefusedAwsRequest {
  target: string | undefined;
  type: string;
  message: string;
}

/** An HTTP server on a free loopback port, closed with its open connections. */
class LoopbackServer {
  private server: Server | undefined;

  constructor(private readonly answer: (request: IncomingMessage, response: ServerResponse) => Promise<void>) {}

  /** Listens on loopback and returns the endpoint, e.g. `http://127.0.0.1:43127`. */
  async start(): Promise<string> {
    const server = createServer((request, response) => void this.answer(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** An HTTP server answering one AWS JSON-protocol service on `POST /`. */
class AwsJsonService {
  readonly refused: RefusedAwsRequest[] = [];

  constructor(private readonly options: AwsJsonServiceOptions) {}

  private readonly loopback = new LoopbackServer((request, response) => this.answer(request, response));

  start(): Promise<string> {
    return this.loopback.start();
  }

  close(): Promise<void> {
    return this.loopback.close();
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = header(request, 'x-amz-target');
    try {
      const output = this.handle(request, target, Buffer.concat(chunks));
      this.write(response, 200, output, {});
    } catch (error) {
      const answer =
        error instanceof AwsErrorAnswer
          ? error
          : new AwsErrorAnswer(`${this.options.errorNamespace}InternalFailure`, 'the stand-in failed');
      this.refused.push({ target, type: answer.type, message: answer.message });
      const headers: Record<string, string> = { 'x-amzn-errortype': answer.type.replace(/^.*#/, '') };
      if (answer.queryErrorCode) headers['x-amzn-query-error'] = answer.queryErrorCode;
      this.write(
        response,
        error instanceof AwsErrorAnswer ? 400 : 500,
        { __type: answer.type, message: answer.message },
        headers,
      );
    }
  }

  private handle(request: IncomingMessage, target: string | undefined, body: Buffer): unknown {
    const { options } = this;
    const protocolError = (type: string, message: string) =>
      new AwsErrorAnswer(`${options.errorNamespace}${type}`, message);
    if (request.method !== 'POST' || request.url !== '/') {
      throw protocolError(
        'UnknownOperationException',
        `the ${options.signingName} JSON protocol is POST /, not ${request.method} ${request.url}`,
      );
    }
    const contentType = `application/x-amz-json-${options.jsonVersion}`;
    if (header(request, 'content-type') !== contentType) {
      throw protocolError(
        'SerializationException',
        `Content-Type must be ${contentType}, got ${header(request, 'content-type') ?? 'none'}`,
      );
    }
    // SigV4: `AWS4-HMAC-SHA256 Credential=<key id>/<yyyymmdd>/<region>/<service>/aws4_request, SignedHeaders=…, Signature=…`
    const scope =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(
        header(request, 'authorization') ?? '',
      );
    if (!scope || scope[1] !== options.accessKeyId || scope[2] !== options.region || scope[3] !== options.signingName) {
      throw protocolError(
        'IncompleteSignatureException',
        `expected a SigV4 signature by ${options.accessKeyId} for ${options.region}/${options.signingName}, got ${scope ? scope.slice(1).join('/') : 'none'}`,
      );
    }
    const operationName = target?.startsWith(`${options.targetPrefix}.`)
      ? target.slice(options.targetPrefix.length + 1)
      : undefined;
    const operation = operationName === undefined ? undefined : options.operations[operationName];
    if (!operation)
      throw protocolError(
        'UnknownOperationException',
        `this stand-in serves ${Object.keys(options.operations).join(', ')}, not ${target ?? 'no target'}`,
      );
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      throw protocolError('SerializationException', 'the body is not JSON');
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input))
      throw protocolError('SerializationException', 'the body is not a JSON object');
    return operation(input as Record<string, unknown>);
  }

  private write(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
    const text = JSON.stringify(body);
    response
      .writeHead(status, {
        'content-type': `application/x-amz-json-${this.options.jsonVersion}`,
        'content-length': String(Buffer.byteLength(text)),
        'x-amzn-requestid': randomUUID(),
        ...headers,
      })
      .end(text);
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Refuses members the operation does not model, so new request fields are noticed. */
function onlyMembers(
  input: Record<string, unknown>,
  allowed: readonly string[],
  invalid: (message: string) => AwsErrorAnswer,
): void {
  const unknown = Object.keys(input).filter((name) => !allowed.includes(name));
  if (unknown.length > 0)
    throw invalid(`this stand-in does not model ${unknown.join(', ')} (it models ${allowed.join(', ')})`);
}

export interface StandInOptions {
  region: string;
  accessKeyId: string;
}

/** A message SQS accepted. */
export interface SentMessage {
  queueUrl: string;
  /** The message body as sent (SQS bodies are strings; the bridge's are JSON). */
  body: string;
  delaySeconds: number;
  /** Wall-clock time SQS accepted it: with `delaySeconds`, when a consumer may first receive it. */
  sentAtMs: number;
  messageId: string;
}

/** SQS's limit on a message body. */
const SQS_MAX_BODY_BYTES = 256 * 1024;

/** SQS `SendMessage` (AWS JSON 1.0), for the queues given; any other queue URL does not exist. */
export class SqsStandIn {
  readonly sent: SentMessage[] = [];
  private readonly service: AwsJsonService;
  private readonly queueUrls = new Set<string>();

  constructor(options: StandInOptions) {
    const invalid = (message: string) =>
      new AwsErrorAnswer('com.amazonaws.sqs#InvalidParameterValue', message, 'InvalidParameterValue;Sender');
    this.service = new AwsJsonService({
      ...options,
      signingName: 'sqs',
      targetPrefix: 'AmazonSQS',
      jsonVersion: '1.0',
      errorNamespace: 'com.amazonaws.sqs#',
      operations: {
        SendMessage: (input) => {
          onlyMembers(input, ['QueueUrl', 'MessageBody', 'DelaySeconds'], invalid);
          const { QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds = 0 } = input;
          if (typeof queueUrl !== 'string' || !this.queueUrls.has(queueUrl)) {
            throw new AwsErrorAnswer(
              'com.amazonaws.sqs#QueueDoesNotExist',
              `The specified queue does not exist: ${String(queueUrl)}`,
              'AWS.SimpleQueueService.NonExistentQueue;Sender',
            );
          }
          if (typeof body !== 'string' || body.length === 0 || Buffer.byteLength(body) > SQS_MAX_BODY_BYTES) {
            throw invalid('MessageBody must be a string of 1 byte to 256 KiB');
          }
          if (
            typeof delaySeconds !== 'number' ||
            !Number.isInteger(delaySeconds) ||
            delaySeconds < 0 ||
            delaySeconds > 900
          ) {
            throw invalid(`DelaySeconds must be a whole number from 0 to 900, got ${String(delaySeconds)}`);
          }
          const message: SentMessage = { queueUrl, body, delaySeconds, sentAtMs: Date.now(), messageId: randomUUID() };
          this.sent.push(message);
          // The SDK checks this digest against the body it sent.
          return { MessageId: message.messageId, MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
        },
      },
    });
  }

  /** Queue URLs look like real ones, `<endpoint>/<account>/<queue name>`, on the stand-in's own host. */
  addQueue(endpoint: string, accountId: string, queueName: string): string {
    const url = `${endpoint}/${accountId}/${queueName}`;
    this.queueUrls.add(url);
    return url;
  }

  sentTo(queueUrl: string): SentMessage[] {
    return this.sent.filter((message) => message.queueUrl === queueUrl);
  }

  get refused(): readonly RefusedAwsRequest[] {
    return this.service.refused;
  }

  start(): Promise<string> {
    return this.service.start();
  }

  close(): Promise<void> {
    return this.service.close();
  }
}

interface StoredSecret {
  arn: string;
  name: string;
  secretString: string;
  versionId: string;
  createdAtMs: number;
}

/** Secrets Manager `GetSecretValue` (AWS JSON 1.1) for the secrets put here, by ARN or name. */
export class SecretsManagerStandIn {
  /** Every `SecretId` asked for, in order. */
  readonly requested: string[] = [];
  private readonly service: AwsJsonService;
  private readonly secrets: StoredSecret[] = [];

  constructor(options: StandInOptions) {
    const invalid = (message: string) => new AwsErrorAnswer('InvalidParameterException', message);
    this.service = new AwsJsonService({
      ...options,
      signingName: 'secretsmanager',
      targetPrefix: 'secretsmanager',
      jsonVersion: '1.1',
      errorNamespace: '',
      operations: {
        GetSecretValue: (input) => {
          onlyMembers(input, ['SecretId', 'VersionStage'], invalid);
          const { SecretId: secretId, VersionStage: stage = 'AWSCURRENT' } = input;
          if (typeof secretId !== 'string') throw invalid('SecretId is required');
          this.requested.push(secretId);
          const secret = this.secrets.find((candidate) => candidate.arn === secretId || candidate.name === secretId);
          if (!secret || stage !== 'AWSCURRENT') {
            throw new AwsErrorAnswer('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
          }
          return {
            ARN: secret.arn,
            Name: secret.name,
            VersionId: secret.versionId,
            SecretString: secret.secretString,
            VersionStages: ['AWSCURRENT'],
            CreatedDate: secret.createdAtMs / 1000,
          };
        },
      },
    });
  }

  /** Stores a secret and returns its ARN, which (like a real one) ends in `-` and six random characters. */
  putSecret(region: string, accountId: string, name: string, secretString: string): string {
    const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${randomBytes(6).toString('base64url').slice(0, 6)}`;
    this.secrets.push({ arn, name, secretString, versionId: randomUUID(), createdAtMs: Date.now() });
    return arn;
  }

  /** What `put-secret-value` does: a new current value for an existing secret. */
  updateSecret(arn: string, secretString: string): void {
    const secret = this.secrets.find((candidate) => candidate.arn === arn);
    if (!secret) throw new Error(`no secret ${arn}`);
    Object.assign(secret, { secretString, versionId: randomUUID(), createdAtMs: Date.now() });
  }

  get refused(): readonly RefusedAwsRequest[] {
    return this.service.refused;
  }

  start(): Promise<string> {
    return this.service.start();
  }

  close(): Promise<void> {
    return this.service.close();
  }
}

/** A frame the Management API accepted for a connection. */
export interface PostedFrame {
  /** The stage in the endpoint's path (`/live/@connections/…`). */
  stage: string;
  connectionId: string;
  /** The frame as sent (the bridge's are JSON text). */
  data: string;
}

/**
 * API Gateway's Management API for WebSocket connections: `PostToConnection` only (REST-JSON,
 * `POST /{stage}/@connections/{connectionId}` with the frame as the raw body, SigV4 for
 * `execute-api`). A connection marked gone answers 410 `GoneException`, as API Gateway does for a
 * connection that closed; anything else it does not model is refused with a 400.
 */
export class ApiGatewayManagementStandIn {
  readonly posted: PostedFrame[] = [];
  readonly refused: RefusedAwsRequest[] = [];
  private readonly goneConnections = new Set<string>();

  constructor(private readonly options: StandInOptions) {}

  /** From now on the connection answers 410, as one that closed. */
  gone(connectionId: string): void {
    this.goneConnections.add(connectionId);
  }

  postedTo(connectionId: string): unknown[] {
    return this.posted.filter((frame) => frame.connectionId === connectionId).map((frame) => JSON.parse(frame.data));
  }

  private readonly loopback = new LoopbackServer((request, response) => this.answer(request, response));

  start(): Promise<string> {
    return this.loopback.start();
  }

  close(): Promise<void> {
    return this.loopback.close();
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const error = (status: number, type: string, message: string) => {
      if (status === 400) this.refused.push({ target: `${request.method} ${request.url}`, type, message });
      const body = JSON.stringify({ message });
      response
        .writeHead(status, {
          'content-type': 'application/json',
          'x-amzn-errortype': type,
          'x-amzn-requestid': randomUUID(),
          'content-length': String(Buffer.byteLength(body)),
        })
        .end(body);
    };
    const scope =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(
        header(request, 'authorization') ?? '',
      );
    if (
      !scope ||
      scope[1] !== this.options.accessKeyId ||
      scope[2] !== this.options.region ||
      scope[3] !== 'execute-api'
    ) {
      error(
        400,
        'IncompleteSignatureException',
        `expected a SigV4 signature by ${this.options.accessKeyId} for ${this.options.region}/execute-api, got ${scope ? scope.slice(1).join('/') : 'none'}`,
      );
      return;
    }
    const target = /^\/([^/]+)\/@connections\/([^/?]+)$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !target) {
      error(
        400,
        'UnsupportedOperation',
        `this stand-in serves POST /{stage}/@connections/{connectionId} (PostToConnection), not ${request.method} ${request.url}`,
      );
      return;
    }
    const connectionId = decodeURIComponent(target[2]!);
    if (this.goneConnections.has(connectionId)) {
      error(410, 'GoneException', `Connection ${connectionId} is gone`);
      return;
    }
    this.posted.push({ stage: target[1]!, connectionId, data: Buffer.concat(chunks).toString('utf8') });
    response.writeHead(200, { 'x-amzn-requestid': randomUUID(), 'content-length': '0' }).end();
  }
}
