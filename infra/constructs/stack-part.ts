import { createHash } from 'node:crypto';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * A part of the bridge stack (its HTTP API, live channel, settings, functions…): a construct that
 * groups resources in the construct tree but is left out of their CloudFormation logical ids
 * (`logicalIdWithoutParts`). The stack was one class before it was split into parts, and a changed
 * logical id makes CloudFormation replace the resource: a new API address Kommo does not know, new
 * queues that lose what is waiting, a new table.
 */
export abstract class StackPart extends Construct {}

// CDK's own scheme (aws-cdk-lib core, private/uniqueid.ts), which is not exported: a component
// named "Default" is hidden, "Resource" is left out of the readable part, and an 8-character hash of
// the whole path keeps ids unique. test/infra checks this copy against CDK's allocation.
const hiddenId = 'Default';
const hiddenFromHumanId = 'Resource';
const maxHumanLength = 240;
const maxIdLength = 255;

const alphanumeric = (component: string) => component.replace(/[^A-Za-z0-9]/g, '');

function withoutRepeats(path: readonly string[]): string[] {
  const kept: string[] = [];
  for (const component of path) {
    const previous = kept[kept.length - 1];
    if (previous === undefined || !previous.endsWith(component)) kept.push(component);
  }
  return kept;
}

/** The logical id CDK makes of a construct path below the stack. */
export function uniqueIdOf(path: readonly string[]): string {
  const components = path.filter((component) => component !== hiddenId);
  const [only] = components;
  if (only === undefined) throw new Error('A logical id needs at least one path component');
  if (components.length === 1 && alphanumeric(only).length <= maxIdLength) return alphanumeric(only);
  const hash = createHash('md5').update(components.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human = withoutRepeats(components)
    .filter((component) => component !== hiddenFromHumanId)
    .map(alphanumeric)
    .join('')
    .slice(0, maxHumanLength);
  return human + hash;
}

/** The logical id of `element` in `stack` as if no `StackPart` stood between them. */
export function logicalIdWithoutParts(stack: Stack, element: CfnElement): string {
  const scopes = element.node.scopes;
  const below = scopes.slice(scopes.indexOf(stack) + 1);
  return uniqueIdOf(below.filter((scope) => !(scope instanceof StackPart)).map((scope) => scope.node.id));
}
