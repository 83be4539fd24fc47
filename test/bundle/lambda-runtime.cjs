'use strict';
/**
 * The part of the AWS Lambda Node.js runtime that the bundle test needs, run as a child process by
 * `deployed-function.ts` so that each bundle gets a fresh module scope and exactly the environment
 * it is started with (the bundles read their configuration at module load, as in Lambda).
 *
 * Like the runtime it loads `<task root>/<module>` from the `Handler` setting (`index.handler`), trying
 * `.js`, `.mjs` and `.cjs` in turn, with `import()` (the bundles are ES modules, `index.mjs`), once per
 * process (one "container"), then calls the exported
 * handler once per invocation with the event and a Lambda context. Invocations arrive and answers
 * leave over the IPC channel; the bundle's own output (its log lines) stays on stdout and stderr.
 *
 * Plain JavaScript on purpose: nothing (no TypeScript loader) may run in the process besides Node.js
 * and the bundle.
 *
 * argv: <task root> <handler> <function name> <memory MB> <timeout seconds>
 */
const path = require('node:path');
const { existsSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
const { randomUUID } = require('node:crypto');

// Taken before the bundle runs, which could add variables of its own.
const environmentNames = Object.keys(process.env).sort();

const [taskRoot, handlerSetting, functionName, memoryMb, timeoutSeconds] = process.argv.slice(2);

function describeError(error) {
  if (error instanceof Error) return { type: error.name, message: error.message };
  return { type: typeof error, message: String(error) };
}

async function loadHandler() {
  const separator = handlerSetting.lastIndexOf('.');
  const moduleName = handlerSetting.slice(0, separator);
  const exportName = handlerSetting.slice(separator + 1);
  const file = ['.js', '.mjs', '.cjs']
    .map((extension) => path.join(taskRoot, moduleName + extension))
    .find((candidate) => existsSync(candidate));
  if (!file) throw new Error(`no ${moduleName}.js, .mjs or .cjs in the task root`);
  const handler = (await import(pathToFileURL(file).href))[exportName];
  if (typeof handler !== 'function') throw new Error(`${handlerSetting} is not a function`);
  return handler;
}

function lambdaContext(requestId) {
  const deadline = Date.now() + Number(timeoutSeconds) * 1000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: memoryMb,
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `bundle-test/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

loadHandler().then(serve, (error) => {
  process.send({ type: 'init-error', error: describeError(error) }, () => process.exit(1));
});

function serve(handler) {
  process.on('message', async (message) => {
    if (message?.type !== 'invoke') return;
    try {
      const value = await handler(message.event, lambdaContext(randomUUID()));
      process.send({ type: 'result', id: message.id, ok: true, value: value === undefined ? null : value });
    } catch (error) {
      process.send({ type: 'result', id: message.id, ok: false, error: describeError(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', environmentNames });
}
