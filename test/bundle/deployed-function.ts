import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What the Lambda runtime reports when a handler throws: the error's name and message. */
export class InvocationFailed extends Error {
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    readonly errorMessage: string,
  ) {
    super(`${functionName} failed: ${errorType}: ${errorMessage}`);
  }
}

export interface DeployedFunctionOptions {
  /** A name for messages and the Lambda context. */
  name: string;
  /** The unzipped code asset: the function's task root. */
  taskRoot: string;
  /** The `Handler` setting, e.g. `index.handler`. */
  handler: string;
  /** The complete environment of the process: nothing of the test process is inherited. */
  environment: Readonly<Record<string, string>>;
  timeoutSeconds: number;
  memoryMb: number;
}

type RuntimeMessage =
  | { type: 'ready'; environmentNames: string[] }
  | { type: 'init-error'; error: { type: string; message: string } }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: { type: string; message: string } };

const runtimePath = fileURLToPath(new URL('./lambda-runtime.cjs', import.meta.url));

/**
 * One bundle running like one Lambda container: loaded once in its own Node.js process (see
 * `lambda-runtime.cjs`), invoked any number of times, with its log lines collected.
 */
export class DeployedFunction {
  /** Every line the bundle wrote to stdout or stderr, in order. */
  readonly logLines: string[] = [];
  /** The names of the environment variables the process started with. */
  environmentNames: readonly string[] = [];

  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private invocations = 0;
  private exited = false;

  private constructor(
    private readonly options: DeployedFunctionOptions,
    private readonly child: ChildProcess,
  ) {}

  /** Starts the process and resolves once the handler module is loaded (the end of Lambda's init phase). */
  static async start(options: DeployedFunctionOptions): Promise<DeployedFunction> {
    const child = fork(
      runtimePath,
      [options.taskRoot, options.handler, options.name, String(options.memoryMb), String(options.timeoutSeconds)],
      {
        cwd: options.taskRoot,
        env: { ...options.environment },
        // Not the test process's flags (vitest's loaders): Node.js and the bundle only. NODE_OPTIONS comes from the environment.
        execArgv: [],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
      },
    );
    const deployed = new DeployedFunction(options, child);
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        deployed.logLines.push(...lines.filter((line) => line.trim() !== ''));
      });
      stream.on('end', () => rest.trim() !== '' && deployed.logLines.push(rest));
    }
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: RuntimeMessage) => {
        if (message.type === 'ready') {
          deployed.environmentNames = message.environmentNames;
          resolve();
        } else if (message.type === 'init-error') {
          reject(new InvocationFailed(options.name, message.error.type, message.error.message));
        } else {
          deployed.settle(message);
        }
      });
      child.on('exit', (code, signal) => {
        deployed.exited = true;
        const error = new Error(
          `${options.name}: the process exited (${signal ?? code}) with ${deployed.pending.size} invocation(s) open:\n${deployed.logTail()}`,
        );
        reject(error);
        for (const { reject: rejectInvocation } of deployed.pending.values()) rejectInvocation(error);
        deployed.pending.clear();
      });
    });
    return deployed;
  }

  /** Invokes the handler; rejects with `InvocationFailed` when it throws, or when it outlives the function's timeout. */
  invoke<Result>(event: unknown): Promise<Result> {
    if (this.exited) return Promise.reject(new Error(`${this.options.name} is not running`));
    const id = (this.invocations += 1);
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new InvocationFailed(
            this.options.name,
            'Sandbox.Timedout',
            `no answer within the function's ${this.options.timeoutSeconds} s timeout`,
          ),
        );
      }, this.options.timeoutSeconds * 1000);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as Result);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ type: 'invoke', id, event });
    });
  }

  /** The bundle's Powertools log lines (JSON, one per line), parsed; other lines are skipped. */
  structuredLogs(): Record<string, unknown>[] {
    return this.logLines.flatMap((line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        return parsed !== null && typeof parsed === 'object' && 'level' in parsed
          ? [parsed as Record<string, unknown>]
          : [];
      } catch {
        return [];
      }
    });
  }

  /**
   * The structured lines that match, once at least `count` of them are there: the child writes its lines to
   * stdout apart from its answers, so a line can arrive after the answer it belongs to. Bounded, not a wait
   * for time to pass: it returns as soon as the lines are there, and with what there is after `boundMs`.
   */
  async structuredLogsWhen(
    matches: (line: Record<string, unknown>) => boolean,
    count: number,
    boundMs = 10_000,
  ): Promise<Record<string, unknown>[]> {
    const found = () => this.structuredLogs().filter(matches);
    for (const deadline = Date.now() + boundMs; found().length < count && Date.now() < deadline; )
      await new Promise((resolve) => setTimeout(resolve, 20));
    return found();
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private settle(message: Extract<RuntimeMessage, { type: 'result' }>): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(new InvocationFailed(this.options.name, message.error.type, message.error.message));
  }

  private logTail(): string {
    return this.logLines.slice(-20).join('\n');
  }
}
