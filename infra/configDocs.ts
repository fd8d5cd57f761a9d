// The README's config reference, generated from the schema: every key with its type and
// default as the schema defines them, and the description written once at the key's
// definition in config.ts (`.describe()`). `npm run docs:config` writes it into README.md
// between the markers; a test fails when the two differ. Pure.
import { stringify } from "yaml";
import { z } from "zod";
import { SECRET_KEY_DOCS, clusterSpecSchema } from "./config.js";

export const README_MARKERS = { start: "<!-- config-reference:start (npm run docs:config) -->", end: "<!-- config-reference:end -->" } as const;

/** One row of the reference table. */
export interface ConfigKey {
  /** `hosts[].name`, `certificates.<id>.mode`, `resizer.presets.<name>.w`. */
  key: string;
  type: string;
  /** `` `80` ``, `required`, `none`. */
  default: string;
  description: string;
}

type Json = {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  properties?: Record<string, Json>;
  required?: string[];
  additionalProperties?: Json | boolean;
  propertyNames?: Json;
  items?: Json;
  anyOf?: Json[];
  oneOf?: Json[];
};

/** A value as the stack file would write it: strings bare, collections in YAML flow style. */
export function literal(value: unknown): string {
  if (typeof value === "string") return value;
  return stringify(value, { collectionStyle: "flow", flowCollectionPadding: false, lineWidth: 0 }).trimEnd();
}

const FORMATS: Record<string, string> = { email: "e-mail address", uri: "URL", ipv4: "IPv4 address", ipv6: "IPv6 address" };

function typeOf(js: Json): string {
  if (js.title !== undefined) return js.title;
  if (js.const !== undefined) return literal(js.const);
  if (js.enum !== undefined) return js.enum.map(literal).join(", ");
  const variants = js.anyOf ?? js.oneOf;
  if (variants !== undefined) return variants.map(typeOf).join(" or ");
  const range = js.minimum !== undefined && js.maximum !== undefined ? ` ${js.minimum}–${js.maximum}` : "";
  switch (js.type) {
    case "integer":
      return `integer${range}`;
    case "number":
      return `number${range}`;
    case "string":
      return js.format !== undefined ? (FORMATS[js.format] ?? js.format) : "string";
    case "array":
      return js.items && isLeaf(js.items) ? `list of ${typeOf(js.items)}` : "list";
    case "object":
      return typeof js.additionalProperties === "object" ? "map" : "object";
    default:
      return js.type ?? "any";
  }
}

/** A value with no keys of its own to document (scalars, lists of scalars, unions of scalars). */
function isLeaf(js: Json): boolean {
  if (js.type === "object") return false;
  if (js.type === "array") return js.items === undefined || isLeaf(js.items);
  const variants = js.anyOf ?? js.oneOf;
  return variants === undefined || variants.every(isLeaf);
}

/** Object variants of a union (a discriminated union such as certificates by `mode`). */
function objectVariants(js: Json): Json[] | undefined {
  const variants = js.oneOf ?? js.anyOf;
  return variants !== undefined && variants.every((v) => v.type === "object" && v.properties !== undefined) ? variants : undefined;
}

/** The discriminator's value of a variant (`mode: acme` -> "acme"). */
function variantName(variant: Json): string {
  const tag = Object.entries(variant.properties ?? {}).find(([, p]) => p.const !== undefined);
  return tag ? literal(tag[1].const) : "?";
}

function defaultOf(js: Json, required: boolean): string {
  if (js.default !== undefined) return `\`${literal(js.default)}\``;
  return required ? "required" : "none";
}

function walk(js: Json, key: string, required: boolean, when: string, rows: ConfigKey[]): void {
  const row = (type: string): void => {
    rows.push({ key, type: `${type}${when}`, default: defaultOf(js, required), description: js.description ?? "" });
  };
  const variants = objectVariants(js);
  if (variants !== undefined) {
    // Merge the variants' keys; a key of some variants only says which.
    const names = [...new Set(variants.flatMap((v) => Object.keys(v.properties!)))];
    for (const name of names) {
      const having = variants.filter((v) => name in v.properties!);
      const tags = having.map(variantName);
      const first = having[0]!.properties![name]!;
      const child = `${key}.${name}`;
      if (having.length === variants.length && having.every((v) => v.properties![name]!.const !== undefined)) {
        // The discriminator itself: one of the variants' values, described by the union.
        const byDefault = (js.default as Record<string, unknown> | undefined)?.[name];
        rows.push({ key: child, type: tags.join(", "), default: byDefault !== undefined ? `\`${literal(byDefault)}\`` : defaultOf(js, required), description: js.description ?? first.description ?? "" });
        continue;
      }
      const only = having.length === variants.length ? "" : ` (${tags.join(", ")} only)`;
      walk(first, child, having.every((v) => v.required?.includes(name)), only, rows);
    }
    return;
  }
  if (isLeaf(js)) return row(typeOf(js));
  if (js.type === "array") {
    row("list");
    walk(js.items!, `${key}[]`, true, "", rows);
    return;
  }
  if (typeof js.additionalProperties === "object") {
    row("map");
    const name = (js as { keyName?: string }).keyName ?? "name";
    walk(js.additionalProperties, `${key}.<${name}>`, true, "", rows);
    return;
  }
  if (js.description !== undefined) row("object");
  for (const [name, prop] of Object.entries(js.properties ?? {})) {
    walk(prop, key === "" ? name : `${key}.${name}`, js.required?.includes(name) ?? false, when, rows);
  }
}

/** Every key of the stack config, in schema order, then the secret keys. */
export function configKeys(): ConfigKey[] {
  const js = z.toJSONSchema(clusterSpecSchema, { io: "input", unrepresentable: "any" }) as Json;
  const rows: ConfigKey[] = [];
  walk(js, "", true, "", rows);
  for (const doc of Object.values(SECRET_KEY_DOCS)) rows.push({ ...doc, default: "none" });
  return rows;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n+/g, " ");

/** The markdown table (between the README markers). */
export function configReference(): string {
  return [
    "| key | type | default | description |",
    "|---|---|---|---|",
    ...configKeys().map((r) => `| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`),
  ].join("\n");
}

/** README text with the reference between the markers replaced. */
export function withConfigReference(readme: string): string {
  const start = readme.indexOf(README_MARKERS.start);
  const end = readme.indexOf(README_MARKERS.end);
  if (start < 0 || end < start) throw new Error(`README.md has no config reference markers (${README_MARKERS.start} ... ${README_MARKERS.end})`);
  return `${readme.slice(0, start + README_MARKERS.start.length)}\n${configReference()}\n${readme.slice(end)}`;
}
