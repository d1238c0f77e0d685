/**
 * `berth lb`: the load balancers for humans, through the public ELBv2 API. One block per load
 * balancer: its name, type and DNS name; each listener with the local address it answers on
 * and where its rules and default action forward; each target group's healthy targets.
 */
import { type JsonEndpoint, callQuery } from "./signed-client.ts";

const VERSION = "2015-12-01";
const SERVICE = "elasticloadbalancing";

export interface LbCommandOptions {
  write(line: string): void;
}

/** An XML element as the query protocol sends them: a tag, child elements, text. */
interface Node {
  tag: string;
  children: Node[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' };

/** Parses the query protocol's XML (elements and text only, which is all it uses). */
function parseXml(xml: string): Node {
  const root: Node = { tag: "", children: [], text: "" };
  const stack: Node[] = [root];
  for (const m of xml.matchAll(/<(\/?)([A-Za-z0-9_:]+)[^>]*?(\/?)>|([^<]+)/g)) {
    const top = stack[stack.length - 1]!;
    if (m[4] !== undefined) top.text += m[4].replace(/&(lt|gt|amp|apos|quot);/g, (_e, name: string) => ENTITIES[name]!);
    else if (m[1]) stack.pop();
    else {
      const node: Node = { tag: m[2]!, children: [], text: "" };
      top.children.push(node);
      if (!m[3]) stack.push(node);
    }
  }
  return root;
}

/** The first descendant named `tag` (breadth first), or an empty node. */
function child(node: Node, tag: string): Node {
  const queue = [...node.children];
  for (let n = queue.shift(); n; n = queue.shift()) {
    if (n.tag === tag) return n;
    queue.push(...n.children);
  }
  return { tag, children: [], text: "" };
}

const one = (node: Node, tag: string): string => child(node, tag).text;
/** The members of the list element `tag`. */
const members = (node: Node, tag: string): Node[] => child(node, tag).children.filter((c) => c.tag === "member");

export async function runLbCommand(endpoint: JsonEndpoint, options: LbCommandOptions): Promise<void> {
  const call = async (action: string, params: Record<string, string> = {}) => parseXml(await callQuery(endpoint, SERVICE, { Action: action, Version: VERSION, ...params }));
  const groupNames = new Map<string, string>();
  const health = new Map<string, string>();
  for (const g of members(await call("DescribeTargetGroups"), "TargetGroups")) {
    const arn = one(g, "TargetGroupArn");
    groupNames.set(arn, one(g, "TargetGroupName"));
    const states = members(await call("DescribeTargetHealth", { TargetGroupArn: arn }), "TargetHealthDescriptions").map((d) => one(child(d, "TargetHealth"), "State"));
    health.set(arn, `${states.filter((s) => s === "healthy").length}/${states.length} healthy`);
  }
  const forward = (actions: Node[]): string =>
    actions
      .map((a) => {
        const type = one(a, "Type");
        if (type !== "forward") return type;
        const arns = [one(a, "TargetGroupArn"), ...members(child(a, "ForwardConfig"), "TargetGroups").map((t) => one(t, "TargetGroupArn"))].filter(Boolean);
        return [...new Set(arns)].map((arn) => `${groupNames.get(arn) ?? arn} (${health.get(arn) ?? "?"})`).join(", ");
      })
      .join("; ");
  const balancers = members(await call("DescribeLoadBalancers"), "LoadBalancers");
  if (balancers.length === 0) options.write("No load balancers in this region.");
  for (const lb of balancers) {
    options.write(`${one(lb, "LoadBalancerName")}  ${one(lb, "Type")}  ${one(lb, "DNSName")}  ${one(child(lb, "State"), "Code")}`);
    const listeners = members(await call("DescribeListeners", { LoadBalancerArn: one(lb, "LoadBalancerArn") }), "Listeners");
    for (const l of listeners) {
      const protocol = one(l, "Protocol");
      const scheme = protocol === "HTTPS" ? "https" : protocol === "HTTP" ? "http" : protocol.toLowerCase();
      options.write(`  ${protocol} :${one(l, "Port")}  ${scheme}://127.0.0.1:${one(l, "Port")}  → ${forward(members(l, "DefaultActions"))}`);
      const rules = members(await call("DescribeRules", { ListenerArn: one(l, "ListenerArn") }), "Rules").filter((r) => one(r, "IsDefault") !== "true");
      for (const r of rules) {
        const conditions = members(r, "Conditions").map((c) => `${one(c, "Field")} ${members(c, "Values").map((v) => v.text).join(",")}`.trim());
        options.write(`    rule ${one(r, "Priority")}: ${conditions.join(" and ")}  → ${forward(members(r, "Actions"))}`);
      }
    }
  }
}
