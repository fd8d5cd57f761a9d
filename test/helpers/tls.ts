// TLS handshakes with the real `openssl s_client`, as an operator checks a server by hand.
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { SETUP_HINT } from "./nginx.js";

export type TlsVersion = "tls1" | "tls1_1" | "tls1_2" | "tls1_3";

export interface Handshake {
  /** The protocol both sides agreed on, or undefined when there was no session. */
  protocol?: string;
  /** The server's leaf certificate, when it sent one. */
  certificate?: X509Certificate;
  /** The server answered with a TLS protocol_version alert (alert 70): it refused the version. */
  refusedVersion: boolean;
  output: string;
}

/**
 * One handshake with `version` only. The client is opened up to OpenSSL security level 0,
 * so that for TLS 1.0/1.1 it really sends the hello (Debian's default client level would
 * otherwise refuse before the server is asked) and a refusal is the server's.
 */
export function handshake(address: string, port: number, servername: string, version: TlsVersion): Handshake {
  const args = ["s_client", "-connect", `${address}:${port}`, "-servername", servername, `-${version}`, "-cipher", "DEFAULT:@SECLEVEL=0", "-showcerts"];
  const r = spawnSync("openssl", args, { input: "", encoding: "utf8", timeout: 10_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`openssl not found: ${SETUP_HINT}`);
  const output = `${r.stdout}\n${r.stderr}`;
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  const cipher = /New, (\S+), Cipher is (\S+)/.exec(r.stdout);
  // The session block's "Protocol :" line is printed for TLS 1.2 and below; for 1.3 the
  // "New, TLSv1.3, Cipher is ..." line names it (for older versions that names the cipher's).
  const protocol = cipher && cipher[2] !== "(NONE)" ? (/Protocol\s*:\s*(\S+)/.exec(r.stdout)?.[1] ?? cipher[1]) : undefined;
  return {
    ...(protocol !== undefined && { protocol }),
    ...(pem !== undefined && { certificate: new X509Certificate(pem) }),
    refusedVersion: /alert protocol version/.test(output) && /SSL alert number 70/.test(output),
    output,
  };
}
