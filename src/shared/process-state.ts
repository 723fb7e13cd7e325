/**
 * The plugin's one per-process object: a registry of typed, namespaced entries in ONE globalThis slot.
 *
 * The host registers the plugin more than once per process (one registration per registry generation)
 * and loads each generation as its own module copy, so a module-level variable exists once per copy,
 * not once per process. Whatever must be shared by every copy — the runtime, the hop and trace context
 * of sessions, the open spool files, the conversation captures — is an entry here instead, named by its
 * owner's folder, so two copies of a module find the same value. Nothing else in src/ keeps state on
 * globalThis (scripts/architecture.test.ts checks); the one other symbol the plugin sets is the events
 * handle it publishes for other plugins (events/custom.ts), a documented interface, not state.
 *
 * The slot holds a plain Map, not an instance of a class of this module: a copy of a later plugin
 * version in the same process reads it with its own code.
 */
const SLOT = Symbol.for("openclaw-nats.process");
type Slot = { [SLOT]?: Map<string, unknown> };

/** One entry: its name (`<owner folder>.<what>`) and how the first module copy that asks creates it. */
export interface ProcessEntry<T> {
  readonly name: string;
  readonly create: () => T;
}

/**
 * Declares an entry. Each module copy declares its own ProcessEntry object; they meet through the name,
 * so the name must say whose it is (`owner` is the folder that owns the value) and be declared once.
 */
export function processEntry<T>(owner: string, what: string, create: () => T): ProcessEntry<T> {
  return { name: `${owner}.${what}`, create };
}

function entries(): Map<string, unknown> {
  const slot = globalThis as Slot;
  return (slot[SLOT] ??= new Map());
}

/** The entry's value for this process, created on first use. */
export function processState<T>(entry: ProcessEntry<T>): T {
  const all = entries();
  if (!all.has(entry.name)) all.set(entry.name, entry.create());
  return all.get(entry.name) as T;
}

/** The entry's value, or undefined when no copy created or set it yet. */
export function peekProcessState<T>(entry: ProcessEntry<T>): T | undefined {
  return entries().get(entry.name) as T | undefined;
}

/** Replaces the entry's value (the runtime for a newer config takes the runtime's place). */
export function setProcessState<T>(entry: ProcessEntry<T>, value: T): void {
  entries().set(entry.name, value);
}

/** The names of the entries this process holds (status, tests). */
export function processStateNames(): string[] {
  return [...entries().keys()].sort();
}
