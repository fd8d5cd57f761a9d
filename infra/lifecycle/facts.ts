// Provider facts: for every input the program sends, what a change does (replace or update)
// and how the provider stores it after `create` (its read-back), each fact with the source
// lines it comes from. Data only; the lifecycle model (engine.ts) reads it, and
// PROVIDER-FACTS.md beside it renders it (test/lifecycle/facts-doc.test.ts keeps the two identical).
//
// Versions: @pulumi/docker 5.2.0 bridges kreuzwerker/terraform-provider-docker. The stored
// pulumi-docker (v5.1.0 and HEAD 237b7899) pins its `upstream` submodule at kreuzwerker
// v4.5.0 (5074970c); 5.2.0's SDK differs from that schema only by `deviceCgroupRules` and
// `uploads[].owner/group`, which the program does not send. The engine is pulumi/pulumi
// v3.248.0 (the SDK the project pins); pulumi-terraform-bridge v3.136.0 (pulumi-docker pins
// v3.137.0, not stored); terraform-plugin-sdk is Pulumi's fork (HEAD 717b4eff).

export interface Citation {
  repo: string;
  ref: string;
  file: string;
  /** "123" or "123-140". */
  lines: string;
}

/** How the provider stores an input after `create` (names resolved by engine.ts). */
export type ReadBack =
  /** Read from the engine and identical to what was sent. */
  | "asSent"
  /** Never read back: state keeps what was sent. */
  | "notReadBack"
  /** NanoCPUs printed by the provider: "2" -> "2.0" (normalise.ts nanoCpusReadBack). */
  | "nanoCpus"
  /** Durations parsed and printed by Go: "1m" -> "1m0s"; unset fields read as "0s"/0. */
  | "healthcheckDurations"
  /** Not sent by the program; dockerd stores 2 x memory (or -1 without swap accounting). */
  | "memorySwapDaemonDefault"
  /** Bindings as the engine reports them: canonical host IP, protocol "tcp". */
  | "portBindings"
  /** dockerd's `default-ulimits` are merged in at inspect. */
  | "ulimitsDaemonMerged"
  /** dockerd's `log-opts` are merged in when the driver is the daemon's default. */
  | "logOptsDaemonMerged";

export interface ProviderFact {
  /** Pulumi type token. */
  type: string;
  /** Top-level input property as the program names it. */
  input: string;
  /** The provider's attribute. */
  attribute: string;
  /** What a changed value does (the input as a whole: a new value, unknown, set or unset). */
  change: "replace" | "update";
  /** What a change of one element of a list does, when that differs (a Command's `triggers`). */
  elements?: "replace" | "update";
  /** Unset in the program: "computed" keeps whatever state holds; "compare" diffs state against the zero value. */
  unset: "computed" | "compare";
  /** Compared as an unordered set (TypeSet), elements too where they hold sets. */
  set?: boolean;
  /** Schema defaults the provider fills into an unset value (per element for lists/sets). */
  defaults?: Record<string, unknown>;
  readBack: ReadBack;
  sources: Citation[];
  note: string;
}

/** What a resource type does as a whole. */
export interface ResourceFact {
  type: string;
  /**
   * bridged: state (read-back) vs. config through the Terraform schema; inputs: old inputs vs.
   * new inputs; config: a provider's configuration (DiffConfig).
   */
  diff: "bridged" | "inputs" | "config";
  /** The provider asks for delete-before-replace on its own (a program option overrides it). */
  deleteBeforeReplace: boolean;
  /** Outputs the provider computes (unknown in a preview of a create or replace). */
  computed: string[];
  /** Create ends by reading the resource back (state = read-back), update does not (state = config). */
  readAfterCreate: boolean;
  /** A preview of an update makes these outputs unknown (they depend on the changed inputs). */
  unknownAfterUpdate: string[];
  sources: Citation[];
  note: string;
}

const KW = { repo: "kreuzwerker/terraform-provider-docker", ref: "v4.5.0 (5074970c)" };
const PD = { repo: "pulumi/pulumi-docker", ref: "237b7899 (after v5.1.0)" };
const BRIDGE = { repo: "pulumi/pulumi-terraform-bridge", ref: "v3.136.0" };
const SDK = { repo: "pulumi/terraform-plugin-sdk", ref: "717b4eff" };
const ENGINE = { repo: "pulumi/pulumi", ref: "v3.248.0 (a88168d8)" };
const COMMAND = { repo: "pulumi/pulumi-command", ref: "010bd8e0 (after v1.2.1)" };
const GOPROV = { repo: "pulumi/pulumi-go-provider", ref: "v1.5.0" };
const MOBY = { repo: "moby/moby", ref: "v20.10.24" };
const TLS = { repo: "hashicorp/terraform-provider-tls", ref: "d72d90e1 (after v4.2.1)" };

const at = (base: { repo: string; ref: string }, file: string, lines: string): Citation => ({ ...base, file, lines });
const schema = (lines: string) => at(KW, "internal/provider/resource_docker_container.go", lines);
const read = (lines: string) => at(KW, "internal/provider/resource_docker_container_funcs.go", lines);

export const CONTAINER = "docker:index/container:Container";
export const NETWORK = "docker:index/network:Network";
export const VOLUME = "docker:index/volume:Volume";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const COMMAND_TYPE = "command:local:Command";
export const DOCKER_PROVIDER = "pulumi:providers:docker";

export const RESOURCE_FACTS: ResourceFact[] = [
  {
    type: CONTAINER,
    diff: "bridged",
    deleteBeforeReplace: true,
    computed: ["id", "exitCode", "containerLogs", "networkDatas", "bridge"],
    readAfterCreate: true,
    unknownAfterUpdate: [],
    sources: [
      at(PD, "provider/resources.go", "112-114"),
      at(BRIDGE, "pkg/tfbridge/provider.go", "1275-1276"),
      read("673"),
      read("991-1077"),
      at(BRIDGE, "pkg/tfbridge/provider.go", "1137-1142"),
    ],
    note: "pulumi-docker marks docker_container DeleteBeforeReplace, so every container replacement deletes the old container first. Create ends with Read (state = read-back); Update changes only restart/cpu_shares/memory/memory_swap/cpu_set/memory_reservation/blkio and does not read back (state = config). Diff compares the stored state (olds) with the new config.",
  },
  {
    type: NETWORK,
    diff: "bridged",
    deleteBeforeReplace: false,
    computed: ["id", "scope"],
    readAfterCreate: true,
    unknownAfterUpdate: [],
    sources: [at(KW, "internal/provider/resource_docker_network_funcs.go", "175-196")],
    note: "Every argument forces replacement; the program adds deleteBeforeReplace (a network name exists once per engine).",
  },
  {
    type: VOLUME,
    diff: "bridged",
    deleteBeforeReplace: false,
    computed: ["id", "mountpoint", "driver"],
    readAfterCreate: true,
    unknownAfterUpdate: [],
    sources: [at(KW, "internal/provider/resource_docker_volume.go", "41-46, 308-312")],
    note: "Name read back as sent.",
  },
  {
    type: REMOTE_IMAGE,
    diff: "bridged",
    deleteBeforeReplace: false,
    computed: ["id", "imageId", "repoDigest"],
    readAfterCreate: true,
    unknownAfterUpdate: [],
    sources: [at(KW, "internal/provider/resource_docker_image_funcs.go", "103-132")],
    note: "Read (only on refresh) drops the resource from state when the engine no longer has the image; a plain `up` never looks.",
  },
  {
    type: COMMAND_TYPE,
    diff: "inputs",
    deleteBeforeReplace: false,
    computed: ["id", "stdout", "stderr"],
    readAfterCreate: false,
    unknownAfterUpdate: ["stdout", "stderr"],
    sources: [
      at(COMMAND, "provider/pkg/provider/local/commandController.go", "34-99"),
      at(GOPROV, "infer/resource.go", "551-596"),
      at(GOPROV, "infer/resource.go", "1138-1257"),
    ],
    note: "Preview never runs the command; a created, replaced or updated Command's stdout/stderr are unknown in preview (infer marks every output that depends on a changed input). Update without an `update` command runs `create` again; Delete runs `delete` (from state) if set.",
  },
  {
    type: DOCKER_PROVIDER,
    diff: "config",
    deleteBeforeReplace: false,
    computed: ["id"],
    readAfterCreate: false,
    unknownAfterUpdate: [],
    sources: [at(BRIDGE, "pkg/tfbridge/provider.go", "796-807"), at(ENGINE, "pkg/resource/deploy/step_generator.go", "3042-3057")],
    note: "A changed provider configuration is an update of the provider; a replaced provider would replace every resource that uses it.",
  },
  ...["tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert", "tls:index/certRequest:CertRequest", "tls:index/locallySignedCert:LocallySignedCert"].map(
    (type): ResourceFact => ({
      type,
      diff: "bridged",
      deleteBeforeReplace: false,
      computed: ["id", "privateKeyPem", "publicKeyPem", "privateKeyOpenssh", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256", "privateKeyPemPkcs8", "certPem", "certRequestPem", "keyAlgorithm", "caKeyAlgorithm", "validityStartTime", "validityEndTime", "readyForRenewal"],
      readAfterCreate: true,
      unknownAfterUpdate: [],
      sources: [at(TLS, `internal/provider/resource_${type.split("/")[1]!.split(":")[0]!.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}.go`, "1-330")],
      note: "Plugin-framework provider: arguments read back as sent; renewal inside earlyRenewalHours (a clock fact) is not modelled.",
    }),
  ),
];

// Rows shared by several container inputs.
const replaceAsSent = (input: string, attribute: string, lines: string, readLines: string, note: string, extra: Partial<ProviderFact> = {}): ProviderFact => ({
  type: CONTAINER,
  input,
  attribute,
  change: "replace",
  unset: "computed",
  readBack: "asSent",
  sources: [schema(lines), read(readLines)],
  note,
  ...extra,
});

export const PROVIDER_FACTS: ProviderFact[] = [
  // ---- docker_container ------------------------------------------------------------
  replaceAsSent("name", "name", "50-55", "828", "Read strips Docker's leading '/'.", { unset: "compare" }),
  replaceAsSent("image", "image", "141-146", "837-845", "A `sha256:` id is read back as the container's image id, so an id is stable; a tag reads back as Config.Image.", { unset: "compare" }),
  replaceAsSent("entrypoints", "entrypoint", "172-179", "850", "Optional+Computed: unset keeps the image's."),
  replaceAsSent("command", "command", "163-170", "849", "Optional+Computed: unset keeps the image's."),
  replaceAsSent("user", "user", "181-194", "851", "A DiffSuppressFunc treats an empty value as unchanged.", { unset: "compare" }),
  replaceAsSent("readOnly", "read_only", "64-70", "830", "Default false.", { unset: "compare", defaults: { value: false } }),
  {
    type: CONTAINER,
    input: "capabilities",
    attribute: "capabilities",
    change: "replace",
    unset: "compare",
    set: true,
    readBack: "asSent",
    sources: [schema("262-290"), read("870-878"), at(MOBY, "daemon/container.go", "308-316")],
    note: "Read as HostConfig.CapAdd/CapDrop. dockerd only validates the names (its CAP_-prefixed normalisation is discarded), so \"CHOWN\" reads back as \"CHOWN\" (measured on this machine's Docker 20.10).",
  },
  replaceAsSent("securityOpts", "security_opts", "291-299", "854", "TypeSet, Optional+Computed; stored as given.", { set: true }),
  replaceAsSent("stopSignal", "stop_signal", "314-320", "977", "Optional+Computed."),
  replaceAsSent("stopTimeout", "stop_timeout", "321-327", "978", "Optional+Computed."),
  replaceAsSent("pidMode", "pid_mode", "974-979", "955-957", "Read only when set; `container:<id>` as given.", { unset: "compare" }),
  replaceAsSent("networkMode", "network_mode", "901-907", "954", "Default \"bridge\"; the network's name reads back as given.", { unset: "compare", defaults: { value: "bridge" } }),
  replaceAsSent("logDriver", "log_driver", "886-892", "951", "Optional+Computed."),
  {
    type: CONTAINER,
    input: "mounts",
    attribute: "mounts",
    change: "replace",
    unset: "compare",
    set: true,
    defaults: { readOnly: false },
    readBack: "asSent",
    sources: [schema("328-433"), read("881"), at(KW, "internal/provider/resource_docker_container_structures.go", "388-439")],
    note: "Read from HostConfig.Mounts (dockerd adds no bind or volume options of its own: measured).",
  },
  {
    type: CONTAINER,
    input: "ports",
    attribute: "ports",
    change: "replace",
    unset: "compare",
    defaults: { ip: "0.0.0.0", protocol: "tcp" },
    readBack: "portBindings",
    sources: [schema("487-535"), read("797-806"), at(KW, "internal/provider/resource_docker_container_structures.go", "35-59"), at(MOBY, "daemon/network.go", "1014")],
    note: "Read from the engine's bindings, sorted by port: host IP as net.IP.String() (an IPv6 address in another spelling would differ), protocol \"tcp\".",
  },
  {
    type: CONTAINER,
    input: "ulimits",
    attribute: "ulimit",
    change: "replace",
    unset: "compare",
    set: true,
    readBack: "ulimitsDaemonMerged",
    sources: [schema("561-588"), read("887-891"), at(MOBY, "daemon/inspect.go", "137-138"), at(MOBY, "daemon/oci_linux.go", "1062-1076")],
    note: "Inspect merges the daemon's `default-ulimits` for names the container lacks: a host with e.g. a default nproc limit would read back one more ulimit and replace the container on every `up`.",
  },
  {
    type: CONTAINER,
    input: "logOpts",
    attribute: "log_opts",
    change: "replace",
    unset: "compare",
    readBack: "logOptsDaemonMerged",
    sources: [schema("894-899"), read("952, 983-989"), at(MOBY, "daemon/logs.go", "177-196"), at(MOBY, "daemon/logger/loggerutils/cache/validate.go", "31-40")],
    note: "dockerd merges daemon.json `log-opts` into a container on the default driver, and `cache-*` options into any: set every option the driver takes (hardening.ts LOG_CONFIG does).",
  },
  {
    type: CONTAINER,
    input: "envs",
    attribute: "env",
    change: "replace",
    unset: "computed",
    set: true,
    readBack: "notReadBack",
    sources: [schema("590-598"), read("893-898")],
    note: "Not read back (the image's env would show up): state keeps what was sent; order does not matter (TypeSet).",
  },
  {
    type: CONTAINER,
    input: "networksAdvanced",
    attribute: "networks_advanced",
    change: "replace",
    unset: "compare",
    set: true,
    readBack: "notReadBack",
    sources: [schema("909-972"), read("786-796")],
    note: "Read only when state has none (import): name, aliases and ipv4Address stay as sent.",
  },
  {
    type: CONTAINER,
    input: "uploads",
    attribute: "upload",
    change: "replace",
    unset: "compare",
    set: true,
    defaults: { executable: false },
    readBack: "notReadBack",
    sources: [schema("987-1043"), read("959")],
    note: "Every field forces replacement; never read back.",
  },
  {
    type: CONTAINER,
    input: "cpus",
    attribute: "cpus",
    change: "replace",
    unset: "compare",
    readBack: "nanoCpus",
    sources: [schema("1158-1163"), read("354-360"), read("946-948"), at(KW, "internal/provider/helpers.go", "133-149")],
    note: "HAZARD 1: \"2\" is stored as nanoInt64ToDecimalString(2e9) = \"2.0\"; no DiffSuppressFunc, ForceNew: sent as \"2\", every later `up` replaced the container. The program sends the provider's form (infra/providerForm.ts providerCpus: \"2.0\", \"1.5\", \"10.\"), which reads back identical; config.ts refuses values it would store as another one (10.01 -> \"10.0\").",
  },
  {
    type: CONTAINER,
    input: "memory",
    attribute: "memory",
    change: "update",
    unset: "compare",
    readBack: "asSent",
    sources: [schema("842-847"), read("932"), read("1016-1071")],
    note: "MB, sent x 1 MiB, read / 1 MiB. Updatable in place (ContainerUpdate, no restart).",
  },
  {
    type: CONTAINER,
    input: "memorySwap",
    attribute: "memory_swap",
    change: "update",
    unset: "compare",
    readBack: "memorySwapDaemonDefault",
    sources: [schema("856-861"), read("940-944"), at(MOBY, "daemon/daemon_unix.go", "343-346, 436-442"), at(MOBY, "daemon/create.go", "80, 106"), at(SDK, "helper/schema/schema.go", "1312-1365")],
    note: "Optional, not Computed. Unset, dockerd stores 2 x memory (measured: 1024 MB -> 2048) and the next diff saw state 2048 vs unset: an in-place update after every create. The program sends it equal to memory (no swap: hardening.ts), which reads back as sent where the kernel accounts swap; without swap accounting dockerd stores -1 and the second `up` updates it once (in place, no restart).",
  },
  {
    type: CONTAINER,
    input: "tmpfs",
    attribute: "tmpfs",
    change: "update",
    unset: "compare",
    readBack: "asSent",
    sources: [schema("482-486"), read("883")],
    note: "Not ForceNew, and Update never applies it (only restart and resource limits): a changed tmpfs would be a no-op update, so the program lists it in replaceOnChanges (hardening.ts FIXED_NAME_CONTAINER).",
  },
  {
    type: CONTAINER,
    input: "healthcheck",
    attribute: "healthcheck",
    change: "update",
    unset: "computed",
    defaults: { interval: "0s", timeout: "0s", startPeriod: "0s", startInterval: "0s", retries: 0 },
    readBack: "healthcheckDurations",
    sources: [schema("1045-1096"), read("139-164"), read("960-971")],
    note: "Durations are parsed (time.ParseDuration) and read back with Go's Duration.String(): \"1m\" -> \"1m0s\", \"5m\" -> \"5m0s\", \"10s\" stays; the program writes them that way (providerForm.ts goDuration). Not ForceNew and never applied by Update, so the program lists it in replaceOnChanges.",
  },
  {
    type: CONTAINER,
    input: "restart",
    attribute: "restart",
    change: "update",
    unset: "compare",
    defaults: { value: "no" },
    readBack: "asSent",
    sources: [schema("230-236"), read("857")],
    note: "Updatable in place.",
  },
  ...(
    [
      ["wait", "wait", "79-84"],
      ["waitTimeout", "wait_timeout", "86-91"],
      ["attach", "attach", "93-98"],
      ["mustRun", "must_run", "122-127"],
      ["destroyGraceSeconds", "destroy_grace_seconds", "827-831"],
    ] as const
  ).map(
    ([input, attribute, lines]): ProviderFact => ({
      type: CONTAINER,
      input,
      attribute,
      change: "update",
      unset: "computed",
      readBack: "notReadBack",
      sources: [schema(lines), read("826-835")],
      note: input === "mustRun" ? "State keeps what was sent, except that Read sets false for a container that is not running (an update then starts it)." : "Provider-side behaviour, never read back.",
    }),
  ),

  // ---- docker_network / docker_volume / docker_image (RemoteImage) ----------------------
  {
    type: NETWORK,
    input: "name",
    attribute: "name",
    change: "replace",
    unset: "compare",
    readBack: "asSent",
    sources: [at(KW, "internal/provider/resource_docker_network.go", "25-29"), at(KW, "internal/provider/resource_docker_network_funcs.go", "175")],
    note: "",
  },
  {
    type: NETWORK,
    input: "driver",
    attribute: "driver",
    change: "replace",
    unset: "computed",
    readBack: "asSent",
    sources: [at(KW, "internal/provider/resource_docker_network.go", "40-45"), at(KW, "internal/provider/resource_docker_network_funcs.go", "177")],
    note: "",
  },
  {
    type: NETWORK,
    input: "ipamConfigs",
    attribute: "ipam_config",
    change: "replace",
    unset: "computed",
    set: true,
    readBack: "asSent",
    sources: [at(KW, "internal/provider/resource_docker_network.go", "99-137"), at(KW, "internal/provider/resource_docker_network_structures.go", "11-39")],
    note: "HAZARD 2's trigger: a new subnet replaces the network. Subnet and gateway read back as given.",
  },
  {
    type: VOLUME,
    input: "name",
    attribute: "name",
    change: "replace",
    unset: "computed",
    readBack: "asSent",
    sources: [at(KW, "internal/provider/resource_docker_volume.go", "41-46"), at(KW, "internal/provider/resource_docker_volume.go", "308")],
    note: "",
  },
  {
    type: REMOTE_IMAGE,
    input: "name",
    attribute: "name",
    change: "replace",
    unset: "compare",
    readBack: "asSent",
    sources: [at(KW, "internal/provider/resource_docker_image.go", "36-40")],
    note: "",
  },
  {
    type: REMOTE_IMAGE,
    input: "keepLocally",
    attribute: "keep_locally",
    change: "update",
    unset: "compare",
    readBack: "notReadBack",
    sources: [at(KW, "internal/provider/resource_docker_image.go", "55-60")],
    note: "",
  },

  // ---- command.local.Command (pulumi-command) -----------------------------------------
  {
    type: COMMAND_TYPE,
    input: "triggers",
    attribute: "triggers",
    change: "replace",
    unset: "compare",
    readBack: "notReadBack",
    elements: "update",
    sources: [
      at(COMMAND, "provider/pkg/provider/common/inputs.go", "10"),
      at(GOPROV, "infer/resource.go", "1138-1157, 1234-1237"),
      at(COMMAND, "sdk/nodejs/local/command.ts", "329-330"),
      at(ENGINE, "pkg/resource/deploy/step_generator.go", "2911-3002"),
    ],
    note: "The schema marks `triggers` replaceOnChanges, but the provider looks that up by the detailed diff's key: a whole new or unknown value (`triggers`, as in a delete-before-replace cascade) replaces the Command, a changed element (`triggers[0]`) is an update (create runs again, the id stays). @pulumi/command 1.x's SDK sends replaceOnChanges [\"triggers[*]\"] so the engine replaces on elements too; the installed 4.5.0 SDK sends nothing, so the program sets [\"triggers\"] (rolling.ts RERUN), which covers the elements and the whole input by the engine's rule.",
  },
  ...(["create", "update", "delete", "environment", "dir", "interpreter", "logging", "stdin", "addPreviousOutputInEnv", "assetPaths", "archivePaths"] as const).map(
    (input): ProviderFact => ({
      type: COMMAND_TYPE,
      input,
      attribute: input,
      change: "update",
      unset: "compare",
      readBack: "notReadBack",
      sources: [at(GOPROV, "infer/resource.go", "1161-1257"), at(COMMAND, "provider/pkg/provider/local/commandController.go", "67-90")],
      note: input === "delete" ? "Runs from state when the Command is deleted (also as part of a replacement)." : "An update runs `create` again (no `update` command is set).",
    }),
  ),

  // ---- docker provider configuration ----------------------------------------------------
  ...(["host", "sshOpts"] as const).map(
    (input): ProviderFact => ({
      type: DOCKER_PROVIDER,
      input,
      attribute: input === "host" ? "host" : "ssh_opts",
      change: "update",
      unset: "compare",
      readBack: "notReadBack",
      sources: [at(BRIDGE, "pkg/tfbridge/provider.go", "796-807")],
      note: "",
    }),
  ),

  // ---- tls (internal CA, self-signed certificates) ----------------------------------------
  ...(
    [
      ["tls:index/privateKey:PrivateKey", "algorithm", "algorithm", "replace", "resource_private_key.go", "57-60"],
      ["tls:index/privateKey:PrivateKey", "ecdsaCurve", "ecdsa_curve", "replace", "resource_private_key.go", "79-84"],
      ["tls:index/privateKey:PrivateKey", "rsaBits", "rsa_bits", "replace", "resource_private_key.go", "70-75"],
      ["tls:index/selfSignedCert:SelfSignedCert", "privateKeyPem", "private_key_pem", "replace", "resource_self_signed_cert.go", "52-61"],
      ["tls:index/selfSignedCert:SelfSignedCert", "validityPeriodHours", "validity_period_hours", "replace", "resource_self_signed_cert.go", "63-66"],
      ["tls:index/selfSignedCert:SelfSignedCert", "allowedUses", "allowed_uses", "replace", "resource_self_signed_cert.go", "73-77"],
      ["tls:index/selfSignedCert:SelfSignedCert", "dnsNames", "dns_names", "replace", "resource_self_signed_cert.go", "93-97"],
      ["tls:index/selfSignedCert:SelfSignedCert", "ipAddresses", "ip_addresses", "replace", "resource_self_signed_cert.go", "101-105"],
      ["tls:index/selfSignedCert:SelfSignedCert", "earlyRenewalHours", "early_renewal_hours", "update", "resource_self_signed_cert.go", "127-141"],
      ["tls:index/selfSignedCert:SelfSignedCert", "isCaCertificate", "is_ca_certificate", "replace", "resource_self_signed_cert.go", "142-147"],
      ["tls:index/selfSignedCert:SelfSignedCert", "subject", "subject", "replace", "resource_self_signed_cert.go", "241-247"],
      ["tls:index/certRequest:CertRequest", "privateKeyPem", "private_key_pem", "replace", "resource_cert_request.go", "43-55"],
      ["tls:index/certRequest:CertRequest", "dnsNames", "dns_names", "replace", "resource_cert_request.go", "56-60"],
      ["tls:index/certRequest:CertRequest", "ipAddresses", "ip_addresses", "replace", "resource_cert_request.go", "64-68"],
      ["tls:index/certRequest:CertRequest", "subject", "subject", "replace", "resource_cert_request.go", "122-128"],
      ["tls:index/locallySignedCert:LocallySignedCert", "caCertPem", "ca_cert_pem", "replace", "resource_locally_signed_cert.go", "51-58"],
      ["tls:index/locallySignedCert:LocallySignedCert", "caPrivateKeyPem", "ca_private_key_pem", "replace", "resource_locally_signed_cert.go", "59-67"],
      ["tls:index/locallySignedCert:LocallySignedCert", "certRequestPem", "cert_request_pem", "replace", "resource_locally_signed_cert.go", "68-75"],
      ["tls:index/locallySignedCert:LocallySignedCert", "validityPeriodHours", "validity_period_hours", "replace", "resource_locally_signed_cert.go", "76-79"],
      ["tls:index/locallySignedCert:LocallySignedCert", "allowedUses", "allowed_uses", "replace", "resource_locally_signed_cert.go", "86-90"],
      ["tls:index/locallySignedCert:LocallySignedCert", "isCaCertificate", "is_ca_certificate", "replace", "resource_locally_signed_cert.go", "106-111"],
      ["tls:index/locallySignedCert:LocallySignedCert", "earlyRenewalHours", "early_renewal_hours", "update", "resource_locally_signed_cert.go", "128"],
    ] as const
  ).map(
    ([type, input, attribute, change, file, lines]): ProviderFact => ({
      type,
      input,
      attribute,
      change,
      unset: "compare",
      readBack: "asSent",
      sources: [at(TLS, `internal/provider/${file}`, lines)],
      note: change === "update" ? "No RequiresReplace plan modifier." : "RequiresReplace plan modifier.",
    }),
  ),
];

/** The engine's own rules the model follows (cited in PROVIDER-FACTS.md). */
export const ENGINE_FACTS: { rule: string; sources: Citation[] }[] = [
  {
    rule: "The provider's Diff decides same / update / replace; a replacement is delete-before-replace when the provider asks for it, unless the program sets `deleteBeforeReplace` (either way).",
    sources: [at(ENGINE, "pkg/resource/deploy/step_generator.go", "1831-1925")],
  },
  {
    rule: "Delete-before-replace deletes, before the old resource itself, every transitive dependent (old state's graph) one of whose inputs comes from a replaced resource and whose provider Diff, with those inputs unknown, says replace; `dependsOn`-only dependents are left alone. The deletions run at the root's registration, in reverse dependency order, as one serial chain with the root's delete and create.",
    sources: [
      at(ENGINE, "pkg/resource/deploy/step_generator.go", "1926-2031"),
      at(ENGINE, "pkg/resource/deploy/step_generator.go", "3009-3149"),
      at(ENGINE, "pkg/resource/graph/dependency_graph.go", "52-112"),
      at(ENGINE, "pkg/resource/deploy/deployment_executor.go", "570-637"),
    ],
  },
  {
    rule: "A dependent deleted that way is re-created as a replacement when the program registers it again.",
    sources: [at(ENGINE, "pkg/resource/deploy/step_generator.go", "1366-1392")],
  },
  {
    rule: "Create-before-delete (the default) creates the replacement at registration and deletes the old resource after every create and update, as do deletions of resources the program no longer registers (antichains in reverse dependency order).",
    sources: [at(ENGINE, "pkg/resource/deploy/step_generator.go", "2033-2038"), at(ENGINE, "pkg/resource/deploy/step_generator.go", "2159, 2560"), at(ENGINE, "pkg/resource/deploy/deployment_executor.go", "520-550")],
  },
  {
    rule: "A bridged provider compares its stored state (read-back) with the new config; an input unknown in preview on a ForceNew attribute is a replacement (RequiresNew = Old != New || NewComputed).",
    sources: [at(BRIDGE, "pkg/tfbridge/provider.go", "1137-1192"), at(SDK, "helper/schema/schema.go", "371-406")],
  },
  {
    rule: "`ignoreChanges` reaches a bridged provider's diff, which drops those attributes (so it also hides read-back differences); for other providers the engine copies the old input over the new one.",
    sources: [at(BRIDGE, "pkg/tfbridge/provider.go", "1184-1192"), at(BRIDGE, "pkg/tfshim/sdk-v2/instance_diff.go", "95-108"), at(BRIDGE, "pkg/tfshim/sdk-v2/provider2.go", "612-621"), at(ENGINE, "pkg/resource/deploy/step_generator.go", "2836-2858")],
  },
];
