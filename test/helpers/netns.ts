// Network namespaces a test creates for itself (iproute2 as root): the L4 hosts of a
// failover rig, each in a namespace of its own with an `eth0`, all on a bridge that lives
// in a client namespace, on a private /24 that exists only inside them. Nothing is added to
// the machine's own network namespace. Names are unique per rig (tests run side by side)
// and everything is removed by `remove()`, or at exit if the test died first.
import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { SETUP_COMMAND } from "../../infra/local/tools.js";

const SETUP = `the VIP failover test needs root and iproute2 (\`ip netns\`): as root, \`${SETUP_COMMAND} test\``;

function ip(...args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.error) throw new Error(`ip ${args.join(" ")}: ${r.error.message} (${SETUP})`);
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr.trim()} (${SETUP})`);
  return r.stdout;
}

export interface Rig {
  /** Where clients run: holds the bridge and the address `.1`. */
  client: string;
  /** One per L4 host: its namespace and its address (`.2`, `.3`, ...) on `eth0`. */
  l4: { ns: string; address: string }[];
  /** A free address of the subnet for the VIP (`.100`). */
  vip: string;
  /** The network namespace currently holding `address` on its `eth0`, if any. */
  holder(address: string): string | undefined;
  remove(): void;
}

const live = new Set<Rig>();
let hooked = false;

export function makeRig(l4Hosts: number): Rig {
  if (process.getuid?.() !== 0) throw new Error(SETUP);
  const id = `io${randomInt(0x100000, 0xffffff).toString(16)}`;
  // 10.x.y.0/24, x never 213 (the container subnet's default): only inside the namespaces.
  const net = `10.${[randomInt(1, 212), randomInt(214, 254)][randomInt(0, 2)]}.${randomInt(0, 255)}`;
  const client = `${id}c`;
  const namespaces = [client];
  const rig: Rig = {
    client,
    l4: [],
    vip: `${net}.100`,
    holder(address) {
      return rig.l4.find((l) => ip("-n", l.ns, "-4", "-o", "addr", "show", "dev", "eth0").includes(` ${address}/`))?.ns;
    },
    remove() {
      for (const ns of namespaces) spawnSync("ip", ["netns", "del", ns]);
      live.delete(rig);
    },
  };
  live.add(rig);
  if (!hooked) {
    hooked = true;
    process.once("exit", () => [...live].forEach((r) => r.remove()));
  }
  try {
    ip("netns", "add", client);
    ip("-n", client, "link", "set", "lo", "up");
    ip("-n", client, "link", "add", "br0", "type", "bridge");
    ip("-n", client, "addr", "add", `${net}.1/24`, "dev", "br0");
    ip("-n", client, "link", "set", "br0", "up");
    for (let i = 0; i < l4Hosts; i++) {
      const ns = `${id}${String.fromCharCode(97 + i)}`;
      ip("netns", "add", ns);
      namespaces.push(ns);
      const [inside, outside] = [`${ns}e`, `${ns}p`];
      // Made in the client's namespace, then one end moved: nothing in the machine's own.
      ip("-n", client, "link", "add", inside, "type", "veth", "peer", "name", outside);
      ip("-n", client, "link", "set", inside, "netns", ns);
      ip("-n", client, "link", "set", outside, "master", "br0", "up");
      ip("-n", ns, "link", "set", inside, "name", "eth0");
      ip("-n", ns, "addr", "add", `${net}.${i + 2}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
      rig.l4.push({ ns, address: `${net}.${i + 2}` });
    }
    return rig;
  } catch (err) {
    rig.remove();
    throw err;
  }
}
