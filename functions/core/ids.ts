import { randomUUID } from 'node:crypto';

/** A new unique id (events, timers, tickets): a random UUID without its dashes. */
export const newEventId = (): string => randomUUID().replaceAll('-', '');
