/**
 * FakeRuntime's pretend networking: the network table (Docker's predefined bridge, host and none,
 * plus created ones), subnet and address assignment, and host port publishing. It knows nothing
 * of containers beyond what its callers pass in, and never touches the host network.
 */
import { createHash } from "node:crypto";
import {
  RuntimeError,
  RuntimeErrorKind,
  type ContainerSpec,
  type ContainerState,
  type NetworkInfo,
  type NetworkOptions,
  type PortBinding,
} from "./runtime.ts";

const PREDEFINED: readonly string[] = ["bridge", "host", "none"];

const networkId = (text: string): string => createHash("sha256").update(text).digest("hex");
const ipToInt = (ip: string): number => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

interface FakeNetwork extends NetworkInfo {
  nextHost: number;
}

export class FakeNetworks {
  private readonly networks = new Map<string, FakeNetwork>();
  private nextPort = 32768;
  private nextSubnet = 18;

  constructor() {
    this.networks.set("bridge", { id: networkId("bridge"), subnet: "172.17.0.0/16", gateway: "172.17.0.1", bridgeName: "docker0", nextHost: 2 });
    this.networks.set("host", { id: networkId("host"), nextHost: 0 });
    this.networks.set("none", { id: networkId("none"), nextHost: 0 });
  }

  has(name: string): boolean {
    return this.networks.has(name);
  }

  /** Creates the network unless it exists, and returns its id; `nextSequence` is called only for a new one. */
  create(name: string, options: NetworkOptions, nextSequence: () => number): string {
    const existing = this.networks.get(name);
    if (existing !== undefined) return existing.id;
    const subnet = options.subnet ?? `172.${this.nextSubnet++}.0.0/16`;
    const base = ipToInt(subnet.split("/")[0]!);
    const id = networkId(`network-${name}-${nextSequence()}`);
    const network: FakeNetwork = {
      id,
      subnet,
      gateway: options.gateway ?? intToIp(base + 1),
      bridgeName: options.bridgeName ?? `br-${id.slice(0, 12)}`,
      nextHost: 2,
    };
    this.networks.set(name, network);
    return id;
  }

  /** Removes a user network; `hasActiveEndpoints` says whether a running container is on it. */
  remove(name: string, hasActiveEndpoints: () => boolean): void {
    if (!this.networks.has(name)) return;
    if (PREDEFINED.includes(name)) {
      throw new RuntimeError(RuntimeErrorKind.Conflict, `${name} is a pre-defined network and cannot be removed`, 403);
    }
    if (hasActiveEndpoints()) {
      throw new RuntimeError(RuntimeErrorKind.Conflict, `error while removing network: network ${name} has active endpoints`, 403);
    }
    this.networks.delete(name);
  }

  inspect(name: string): NetworkInfo | undefined {
    const n = this.networks.get(name);
    if (n === undefined) return undefined;
    const { nextHost: _, ...info } = n;
    return { ...info };
  }

  /**
   * Host ports for the spec's port mappings: the fixed ones it asks for, else the next free ones.
   * `published` is every binding the engine holds now (read only on a bridge-like network).
   */
  publish(spec: ContainerSpec, published: Iterable<PortBinding>): PortBinding[] {
    // Publishing needs a bridge-like network: host, none and container:<id> ignore ports.
    if (this.networks.get(spec.networkMode)?.subnet === undefined) return [];
    const taken = new Set<string>();
    for (const p of published) taken.add(`${p.hostPort}/${p.protocol}`);
    return (spec.ports ?? []).map((p) => {
      let hostPort = p.hostPort ?? 0;
      if (hostPort > 0 && taken.has(`${hostPort}/${p.protocol}`)) {
        throw new RuntimeError(RuntimeErrorKind.Failed, `Bind for 0.0.0.0:${hostPort} failed: port is already allocated`, 500);
      }
      while (hostPort === 0 || taken.has(`${hostPort}/${p.protocol}`)) hostPort = this.nextPort++;
      taken.add(`${hostPort}/${p.protocol}`);
      return { containerPort: p.containerPort, protocol: p.protocol, hostPort, hostIp: p.hostIp ?? "0.0.0.0" };
    });
  }

  /** The endpoint on network `name` (not `container:<id>`): the fixed `ipv4Address`, else the subnet's next address. */
  attach(name: string, ipv4Address: string | undefined): ContainerState["networks"] {
    const n = this.networks.get(name);
    if (n === undefined) throw new RuntimeError(RuntimeErrorKind.NotFound, `network ${name} not found`, 404);
    if (n.subnet === undefined) return { [name]: { ipAddress: "" } };
    const ipAddress = ipv4Address ?? intToIp(ipToInt(n.subnet.split("/")[0]!) + n.nextHost++);
    return { [name]: n.gateway === undefined ? { ipAddress } : { ipAddress, gateway: n.gateway } };
  }
}
