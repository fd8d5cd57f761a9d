// An L4 host's keepalived: one VRRP instance that holds the VIP on the host whose HAProxy
// can serve, and moves it to the next L4 host when that HAProxy stops answering. Pure:
// VipPlan + one L4 host in, keepalived.conf and its check script out.
import { shellQuote } from "../remote.js";
import { VIP_NAMES, VRRP_CHECK, type VipHostPlan, type VipPlan } from "../topology.js";
import { block, comment, config, line, why } from "./ast.js";
import { printKeepalived } from "./print.js";

/** The check script's file name, next to keepalived.conf. */
export const CHECK_SCRIPT = "haproxy-alive.sh";

/** Where keepalived finds the check script: beside its config. */
export function checkScriptPath(host: VipHostPlan): string {
  const config = host.keepalived.paths.config;
  return `${config.slice(0, config.lastIndexOf("/"))}/${CHECK_SCRIPT}`;
}

/**
 * keepalived's question to its HAProxy, as a script (keepalived's only way to track
 * something over HTTP): GET the liveness URI on the host's ops listener, require 200. Plain
 * bash, nothing else in the image needed; keepalived's own timeout ends a hung one.
 */
export function renderCheckScript(host: VipHostPlan): string {
  const { address, port, path } = host.keepalived.check;
  const request = `GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n`;
  return [
    "#!/bin/bash",
    `# ${host.keepalived.name}: does ${host.haproxy.name} serve? (rendered by infra/vip; do not edit)`,
    `exec 3<>${shellQuote(`/dev/tcp/${address}/${port}`)} || exit 1`,
    `printf ${shellQuote(request)} >&3`,
    "read -r _ status _ <&3",
    '[ "$status" = 200 ]',
    "",
  ].join("\n");
}

export function renderKeepalived(vip: VipPlan, host: VipHostPlan): string {
  const plan = vip.haproxy;
  if (plan === undefined) throw new Error("renderKeepalived: the VIP plan has no haproxy part (vip.mode is not haproxy)");
  const prefix = vip.address.includes(":") ? 128 : 32;
  return printKeepalived(
    config([
      comment(
        `${host.keepalived.name}: keepalived of L4 host ${host.name}, holding the VIP ${vip.address} while its HAProxy serves;\n` +
          "rendered from the stack config by infra/vip. Do not edit: change Pulumi.<stack>.yaml and run `npm run render`.",
      ),
      block(
        ["global_defs"],
        [
          line("router_id", host.name),
          why("VRRPv3: advertisement intervals below a second.", line("vrrp_version", 3)),
          why("The check script is root's and nobody else's (it lives in the read-only config volume).", line("script_user", "root")),
          line("enable_script_security"),
        ],
      ),
      block(
        ["vrrp_script", VIP_NAMES.vrrpScript],
        [
          line("script", checkScriptPath(host)),
          line("interval", VRRP_CHECK.intervalSeconds),
          line("timeout", VRRP_CHECK.timeoutSeconds),
          line("fall", VRRP_CHECK.fall),
          line("rise", VRRP_CHECK.rise),
        ],
      ),
      why(
        "Every L4 host starts as BACKUP: the highest priority wins the first election; `nopreempt`\n" +
          "keeps the VIP where it is afterwards, so a host coming back does not take it (one move, not two).\n" +
          `A failing check puts this host in FAULT: it gives the VIP up at once and a peer takes it over.`,
        block(
          ["vrrp_instance", VIP_NAMES.vrrpInstance],
          [
            line("state", "BACKUP"),
            line("interface", host.interface),
            line("virtual_router_id", plan.vrrp.routerId),
            line("priority", host.priority),
            line("advert_int", plan.vrrp.advertSeconds),
            line("nopreempt"),
            ...(host.peers.length > 0
              ? [
                  why("Unicast to the other L4 hosts: many networks drop VRRP's multicast.", line("unicast_src_ip", host.address)),
                  block(["unicast_peer"], host.peers.map((p) => line(p))),
                ]
              : []),
            block(["virtual_ipaddress"], [line(`${vip.address}/${prefix}`, "dev", host.interface)]),
            block(["track_script"], [line(VIP_NAMES.vrrpScript)]),
          ],
        ),
      ),
    ]),
  );
}
