/**
 * Compiles a task's placement requirements into the `Plan` a placement run follows: validates the
 * constraints and strategies (InvalidParameter on anything ECS would reject), parses `memberOf`
 * expressions once and sorts them by whether placing tasks can change their truth, encodes host
 * ports, and turns strategies into ranking keys. Pure; it never looks at an instance.
 */
import { invalidParameter } from "../core/errors.ts";
import type { PlacementConstraint, PlacementStrategy, TaskRequirements } from "./placement.ts";
import { type QueryExpr, parseQuery, queryReadsTasks } from "./query-language.ts";

export const MAX_PLACEMENT_STRATEGIES = 5;

/** Host ports are encoded as one number: udp ports offset by this. */
export const UDP_OFFSET = 65_536;

/** How a strategy ranks an instance; smaller is better. */
export type StrategyKey =
  | { readonly kind: "cpu" | "memory" | "instance" }
  | { readonly kind: "attribute"; readonly spread: number };

export interface Plan {
  readonly cpu: number;
  readonly memory: number;
  readonly group: string;
  /** Encoded host ports (udp offset by 65,536); undefined when the task's own ports collide. */
  readonly ports: readonly number[] | undefined;
  readonly distinct: boolean;
  readonly requiredAttributes: readonly { name: string; value?: string | undefined }[];
  /** memberOf queries whose truth placing tasks cannot change: checked once per call. */
  readonly staticQueries: readonly QueryExpr[];
  /** memberOf queries reading task:group or runningTasksCount: checked for every task. */
  readonly taskQueries: readonly QueryExpr[];
  readonly keys: readonly StrategyKey[];
  /** Ties left after `keys` are broken at random (else: first in input order). */
  readonly randomTies: boolean;
  /** Attribute names of the `spread attribute:<name>` strategies. */
  readonly attributeSpreads: readonly string[];
}

/** Throws InvalidParameter for a constraint or strategy ECS would reject. */
export function compilePlan(req: TaskRequirements): Plan {
  const ports = req.ports.map((p) => (p.protocol === "udp" ? p.port + UDP_OFFSET : p.port));
  const queries = compileConstraints(req.constraints);
  return {
    cpu: req.cpu,
    memory: req.memory,
    group: req.group,
    ports: new Set(ports).size === ports.length ? ports : undefined,
    distinct: req.constraints.some((c) => c.type === "distinctInstance"),
    requiredAttributes: req.requiredAttributes ?? [],
    staticQueries: queries.filter((q) => !queryReadsTasks(q)),
    taskQueries: queries.filter(queryReadsTasks),
    ...compileStrategies(req.strategy),
  };
}

function compileConstraints(constraints: readonly PlacementConstraint[]): QueryExpr[] {
  const queries: QueryExpr[] = [];
  for (const c of constraints) {
    if (c.type === "memberOf") {
      if (c.expression === undefined || c.expression === "") {
        throw invalidParameter("A memberOf placement constraint requires an expression.");
      }
      queries.push(parseQuery(c.expression));
    } else if (c.type === "distinctInstance") {
      if (c.expression !== undefined) {
        throw invalidParameter("A distinctInstance placement constraint cannot have an expression.");
      }
    } else throw invalidParameter(`Unknown placement constraint type: ${String(c.type)}`);
  }
  return queries;
}

function compileStrategies(strategies: readonly PlacementStrategy[]): Pick<Plan, "keys" | "randomTies" | "attributeSpreads"> {
  if (strategies.length > MAX_PLACEMENT_STRATEGIES) {
    throw invalidParameter(`A task can have at most ${MAX_PLACEMENT_STRATEGIES} placement strategies.`);
  }
  const keys: StrategyKey[] = [];
  const attributeSpreads: string[] = [];
  for (const s of strategies) {
    // A random ranking leaves no ties, so strategies after it could never matter.
    if (s.type === "random") return { keys, randomTies: true, attributeSpreads };
    keys.push(strategyKey(s, attributeSpreads));
  }
  return { keys, randomTies: strategies.length === 0, attributeSpreads };
}

function strategyKey(s: PlacementStrategy, attributeSpreads: string[]): StrategyKey {
  const field = s.field ?? "";
  const lower = field.toLowerCase();
  if (s.type === "binpack") {
    if (lower === "cpu" || lower === "memory") return { kind: lower };
    throw invalidParameter(`Invalid binpack placement strategy field '${field}': use cpu or memory.`);
  }
  if (s.type === "spread") {
    if (lower === "instanceid" || lower === "host") return { kind: "instance" };
    if (lower.startsWith("attribute:") && field.length > "attribute:".length) {
      return { kind: "attribute", spread: attributeSpreads.push(field.slice("attribute:".length)) - 1 };
    }
    throw invalidParameter(`Invalid spread placement strategy field '${field}'.`);
  }
  throw invalidParameter(`Unknown placement strategy type: ${String(s.type)}`);
}
