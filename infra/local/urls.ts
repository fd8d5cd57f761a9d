// What `npm start` prints to try: one line per behaviour of the seeds, as a URL or a curl
// command that reaches the right server block on a loopback listener. Pure.
import { hostPort } from "../address.js";
import type { HostPlan, ServerPlan } from "../topology.js";

export interface Examples {
  /** A thumbnail in the tree (`/thumbnail/...`). */
  thumbnail?: string;
  /** A still served by the slaves. */
  still?: string;
  /** A source for the resizer. */
  source?: string;
  /** An episode's storyboard track, as its canonical URL (path and query). */
  storyboard?: string;
  /** The CA (the stand-in certificate) for HTTPS. */
  caPath?: string;
}

export interface TryLine {
  label: string;
  text: string;
}

/** Names that resolve to loopback by themselves (RFC 6761: `localhost` and `*.localhost`). */
const loopbackName = (name: string) => name === "localhost" || name.endsWith(".localhost");

/** A request for `path` on `server`'s first name: a plain URL when the name is loopback, else curl with --resolve. */
function reach(host: HostPlan, server: ServerPlan, path: string, scheme: "http" | "https", caPath?: string): string {
  const listen = scheme === "https" ? host.master.https! : host.master.http;
  const name = server.serverNames.find((n) => !n.startsWith("*.")) ?? listen.address;
  const url = `${scheme}://${name}:${listen.port}${path}`;
  const ca = scheme === "https" && caPath ? ` --cacert ${caPath}` : "";
  if (loopbackName(name) && ca === "") return url;
  const resolve = loopbackName(name) ? "" : ` --resolve ${name}:${listen.port}:${listen.address}`;
  return `curl -sS -o /dev/null -w '%{http_code} %{content_type}\\n'${resolve}${ca} '${url}'`;
}

export function tryLines(host: HostPlan, ex: Examples): TryLine[] {
  const m = host.master;
  const main = m.servers.find((s) => s.default) ?? m.servers[0]!;
  const other = m.servers.find((s) => s !== main && s.notFoundStatus !== main.notFoundStatus);
  const lines: TryLine[] = [];
  const add = (label: string, text: string) => lines.push({ label, text });
  const http = (path: string, server = main) => reach(host, server, path, "http");

  const expires = m.tuning.expires;
  add("index", http("/"));
  if (ex.still) add("static", `${http(ex.still)}   (slaves, expires ${expires.image})`);
  add("css", `${http("/static/css/site.css")}   (slaves, expires ${expires.script}, gzip)`);
  if (ex.thumbnail) add("thumbnail", `${http(ex.thumbnail)}   (master, expires ${expires.thumbnail})`);
  add("missing", `${http("/thumbnail/none.jpg")}   (${main.notFoundStatus})`);
  if (other) add("stillshot", `${http("/thumbnail/none.jpg", other)}   (${other.notFoundStatus} on ${other.domain})`);
  add("profile", `${http("/upload/fe/profile/none.gif")}   (the default profile image)`);
  if (ex.source) {
    const src = ex.source.replace(/^\//, "");
    // In its canonical spelling (any other answers a redirect to it), and no preset's size.
    add("resize", `${http(`/resize?src=${src}&w=300&h=200&fmt=auto`)}   (X-Cache-Status MISS, then HIT)`);
    const legacy = m.legacyPaths[0];
    if (legacy) add("timthumb", `${http(`${legacy}?src=/${src}&w=320&h=180`)}   (legacy URL: redirects to its /resize URL)`);
  }
  if (ex.storyboard) add("storyboard", `${http(ex.storyboard)}   (WebVTT thumbnails track; its cues name the sprite sheets)`);
  const tls = m.https ? m.servers.find((s) => s.tls) : undefined;
  if (tls) add("https", reach(host, tls, ex.thumbnail ?? "/", "https", ex.caPath));
  add("healthz", `http://${hostPort(m.http.address, m.http.port)}/healthz   (what the L4 asks)`);
  const ops = host.ops;
  add("metrics", `http://${hostPort(ops.listen.address, ops.listen.port)}${ops.paths.metrics}   (master and slaves, Prometheus; ${ops.paths.resizers.map((r) => r.path).join(", ")})`);
  return lines;
}
