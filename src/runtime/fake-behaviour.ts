/**
 * What FakeRuntime's pretend processes do: the `FakeBehaviour` a test chooses per image or
 * command line, which chosen behaviour applies to a container, and how signal names map to
 * numbers. It schedules nothing: FakeRuntime plays the behaviour out on its timers.
 */
import { normalizeRef } from "./fake-images.ts";
import { RuntimeError, RuntimeErrorKind, type ContainerSpec } from "./runtime.ts";

/** What a pretend process does once started. */
export interface FakeBehaviour {
  /** Exits by itself after this long; undefined runs until stopped. */
  runMs?: number;
  /** Exit code when it exits by itself. Default 0. */
  exitCode?: number;
  /** Dies of OOM (exit 137, oomKilled) after runMs (default at once). */
  oom?: boolean;
  /** The health check result reached after `afterMs`. Without it a health-checked container turns healthy after one interval. */
  health?: { status: "healthy" | "unhealthy"; afterMs: number };
  /** Signals the process ignores ("SIGTERM" → stop waits for its timeout, then SIGKILL → 137). */
  ignoreSignals?: string[];
  /** Lines written at start, or `atMs` after it. */
  output?: { stream: "stdout" | "stderr"; line: string; atMs?: number }[];
}

/** An image ref, the command line (entrypoint + cmd joined by spaces), or a predicate. */
export type BehaviourMatch = string | RegExp | ((spec: ContainerSpec) => boolean);

const commandLine = (spec: ContainerSpec): string => [...(spec.entrypoint ?? []), ...(spec.cmd ?? [])].join(" ");

/** The behaviours a test has chosen, in the order it chose them. */
export class FakeBehaviours {
  private readonly chosen: { match: BehaviourMatch; behaviour: FakeBehaviour }[] = [];

  add(match: BehaviourMatch, behaviour: FakeBehaviour): void {
    this.chosen.push({ match, behaviour });
  }

  /** The latest chosen behaviour matching the spec; without one the process runs until stopped. */
  select(spec: ContainerSpec): FakeBehaviour {
    const line = commandLine(spec);
    for (let i = this.chosen.length - 1; i >= 0; i--) {
      const { match, behaviour } = this.chosen[i]!;
      const hit =
        typeof match === "function"
          ? match(spec)
          : typeof match === "string"
            ? normalizeRef(match) === normalizeRef(spec.image) || match === line
            : match.test(line) || match.test(spec.image);
      if (hit) return behaviour;
    }
    return {};
  }
}

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15 };

/** "SIGTERM", "TERM", "term" or "15" as a signal number; RuntimeError for an unknown name. */
export function signalNumber(signal: string): number {
  const n = Number(signal);
  if (Number.isInteger(n) && n > 0) return n;
  const found = SIGNALS[signal.toUpperCase().replace(/^SIG/, "")];
  if (found === undefined) throw new RuntimeError(RuntimeErrorKind.Failed, `Invalid signal: ${signal}`, 500);
  return found;
}
