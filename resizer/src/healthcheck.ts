// Docker HEALTHCHECK probe: GET /healthz on this container's own port (RESIZER_PORT),
// exit 0 when it answers 200. Node-only, so the image needs no curl.
const port = process.env.RESIZER_PORT ?? "9000";
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
