// Names the ops agent and its small helper (get.ts) share, without importing anything.

/** The environment variable holding the agent's whole configuration as JSON. */
export const OPS_CONFIG_ENV = "OPS_CONFIG";
