// Import rules of the code base (docs/architecture.md, "Layers"), checked by `npm run lint`.
// Layers of functions/core, innermost first: domain (pure rules) ← ports (interfaces of side effects)
// ← use-cases ← http (request parsing, middlewares) and adapters (one technology each) ← lambda
// and the composition roots (create-deps.ts, wiring.ts, outbound-clients.ts, each functions/<name>/index.ts).
const core = '^functions/core/';
const above = (...layers) => `${core}(${layers.join('|')})/`;
const compositionRoots = `${core}(create-deps|wiring|outbound-clients)\\.ts$|^functions/[^/]+/index\\.ts$`;
const functionFolders = '^functions/(?!core/)[^/]+/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle (type-only ones included) makes module order matter and layers meaningless.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-imports-nothing-above-it',
      severity: 'error',
      comment: 'The domain is pure rules: no ports, adapters, use cases, HTTP, Lambda or composition.',
      from: { path: `${core}domain/` },
      to: { path: [above('ports', 'adapters', 'use-cases', 'http', 'lambda'), compositionRoots, functionFolders] },
    },
    {
      name: 'ports-import-only-the-domain',
      severity: 'error',
      comment: 'A port is an interface over domain values; it knows no adapter, use case or transport.',
      from: { path: `${core}ports/` },
      to: { path: `^functions/`, pathNot: `${core}(domain|ports)/` },
    },
    {
      name: 'use-cases-know-no-adapter-or-transport',
      severity: 'error',
      comment: 'Use cases reach side effects through ports only; HTTP and Lambda are the callers, not the callee.',
      from: { path: `${core}use-cases/` },
      to: { path: [above('adapters', 'http', 'lambda'), compositionRoots, functionFolders] },
    },
    {
      name: 'adapters-call-no-use-case',
      severity: 'error',
      comment: "An adapter implements a port for one technology; what to do is the use case's business.",
      from: { path: `${core}adapters/` },
      to: { path: [above('use-cases', 'lambda'), compositionRoots, functionFolders] },
    },
    {
      name: 'handlers-are-adapters-not-composition',
      severity: 'error',
      comment: 'A handler parses, calls a use case and maps the result; its index.ts creates the clients it needs.',
      // The handler and the route, request and page modules it is split into: every file of a function's folder but its index.ts.
      from: { path: '^functions/(?!core/)[^/]+/(?!index\\.ts$)[^/]+$' },
      to: { path: [above('adapters', 'lambda'), compositionRoots, '^node_modules/@aws-sdk/'] },
    },
    {
      name: 'core-knows-no-function-folder',
      severity: 'error',
      comment: "functions/core is shared by every function; a function's own folder is used by nothing but its entry.",
      from: { path: core },
      to: { path: functionFolders },
    },
    {
      name: 'functions-stand-alone',
      severity: 'error',
      comment: 'What is deployed imports nothing from the local runtime, the tests, the bench or the CDK app.',
      from: { path: '^functions/' },
      to: { path: '^(local|test|bench|infra|widget)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type-only circle is still a circle between layers.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out|dist)/' },
  },
};
