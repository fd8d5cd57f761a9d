// Self-signed test certificates: the launcher's own (infra/local/certs.ts), with the
// test suite's set-up hint when openssl is missing.
import { makeSelfSigned as make, type CertFiles } from "../../infra/local/certs.js";
import { SETUP_HINT } from "./nginx.js";

export type { CertFiles } from "../../infra/local/certs.js";

/** Writes a self-signed certificate and its key (mode 0600) for `names`. */
export function makeSelfSigned(files: CertFiles): void {
  make(files, SETUP_HINT);
}
