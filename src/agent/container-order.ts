/**
 * dependsOn rules, pure: whether a container may start now, whether its dependencies can
 * still be met, and the order to stop containers in (dependents before their dependencies).
 */

export type DependencyCondition = "START" | "COMPLETE" | "SUCCESS" | "HEALTHY";

export interface Dependency {
  containerName: string;
  condition: DependencyCondition;
}

export interface ObservedContainer {
  started: boolean;
  exited: boolean;
  exitCode?: number;
  health?: "starting" | "healthy" | "unhealthy";
}

export type Readiness = { kind: "ready" } | { kind: "wait" } | { kind: "never"; reason: string };

export function readiness(deps: readonly Dependency[], observe: (name: string) => ObservedContainer | undefined): Readiness {
  let wait = false;
  for (const d of deps) {
    const c = observe(d.containerName);
    if (!c) return { kind: "never", reason: `dependency container ${d.containerName} does not exist` };
    switch (d.condition) {
      case "START":
        if (!c.started) wait = true;
        break;
      case "COMPLETE":
        if (!c.exited) wait = true;
        break;
      case "SUCCESS":
        if (!c.exited) wait = true;
        else if (c.exitCode !== 0) return { kind: "never", reason: `dependency container ${d.containerName} exited with code ${c.exitCode}` };
        break;
      case "HEALTHY":
        if (c.health === "unhealthy") return { kind: "never", reason: `dependency container ${d.containerName} is unhealthy` };
        if (c.exited) return { kind: "never", reason: `dependency container ${d.containerName} exited before becoming healthy` };
        if (c.health !== "healthy") wait = true;
        break;
    }
  }
  return wait ? { kind: "wait" } : { kind: "ready" };
}

/** Stop order: a container stops before every container it depends on. */
export function stopOrder(names: readonly string[], dependsOn: (name: string) => readonly Dependency[]): string[] {
  const order: string[] = [];
  const visited = new Set<string>();
  // Depth-first over "is depended on by": emit a container after all of its dependents.
  const dependents = (name: string) => names.filter((n) => dependsOn(n).some((d) => d.containerName === name));
  const visit = (name: string): void => {
    if (visited.has(name)) return;
    visited.add(name);
    for (const d of dependents(name)) visit(d);
    order.push(name);
  };
  for (const n of names) visit(n);
  return order;
}
