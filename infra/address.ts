// IP addresses as text: how an address and a port are written together (`[v6]:port`), in
// URLs, and the IPv4 arithmetic of the container subnet. The one place that knows IPv6
// needs brackets; nginx configs, shell commands, the launcher and its messages use it. Pure.

/** An address as the host part of a URL or `host:port`: IPv6 in brackets. */
export function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** `address:port` (nginx `listen` and `server`, curl, messages): IPv6 in brackets. */
export function hostPort(address: string, port: number): string {
  return `${urlHost(address)}:${port}`;
}

/** `http://[v6]:port/path` or `http://v4:port/path`. */
export function hostUrl(scheme: "http" | "https", address: string, port: number, path: string): string {
  return `${scheme}://${hostPort(address, port)}${path}`;
}

export function ipv4ToInt(address: string): number {
  return address.split(".").reduce((acc, octet) => ((acc << 8) | (Number(octet) & 255)) >>> 0, 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

/** The network mask of an IPv4 prefix length, as an unsigned integer. */
export function prefixMask(length: number): number {
  return length === 0 ? 0 : (~0 << (32 - length)) >>> 0;
}

/** Canonical text of an IP address so that `::1` and `0:0::1` compare equal. */
export function normaliseIp(address: string): string {
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.split("::");
  const parts = (s: string) => (s === "" ? [] : s.split(":"));
  const h = parts(head);
  const t = parts(tail);
  const groups = address.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(":");
}
