// The one table of registry error codes, each with the HTTP status it answers
// with: the OCI Distribution Spec codes, then the few that CNCF Distribution adds
// and clients already know (TAG_INVALID, MANIFEST_UNVERIFIED, RANGE_INVALID, UNKNOWN),
// and NOT_FOUND for a path that is no endpoint at all. The store throws RegistryError
// (or a subclass carrying what the answer needs) and never sets HTTP headers; one
// daemon middleware (daemon/app.ts) turns every error into the {"errors":[…]} envelope.

export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a blob or manifest unknown to the repository' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  MANIFEST_UNVERIFIED: { status: 400, message: 'manifest failed signature verification' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  REQUEST_TIMEOUT: { status: 408, message: 'the request took too long to arrive' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  RANGE_INVALID: { status: 416, message: 'requested range not satisfiable' },
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  UNKNOWN: { status: 500, message: 'unknown error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers, e.g. `Range` on a 416 or `Allow` on a 405. */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { detail?: unknown; status?: number; headers?: Record<string, string> } = {},
  ) {
    super(message ?? ERROR_CODES[code].message);
    this.code = code;
    this.status = opts.status ?? ERROR_CODES[code].status;
    this.detail = opts.detail;
    this.headers = opts.headers ?? {};
  }

  envelope(): { errors: { code: string; message: string; detail: unknown }[] } {
    return { errors: [{ code: this.code, message: this.message, detail: this.detail ?? null }] };
  }
}

/** A chunk that does not start where the upload stands; the answer says where that is. */
export class UploadOffsetError extends RegistryError {
  readonly uploaded: number;

  constructor(uploaded: number, message: string) {
    super('RANGE_INVALID', message);
    this.uploaded = uploaded;
  }
}

/**
 * The answer to a refusal of the filesystem that the client should hear about, or
 * undefined: out of space or quota is `507 Insufficient Storage`, a store mounted
 * read-only is refused as `--read-only` refuses writes. Neither stored anything.
 */
export function storageError(err: unknown): RegistryError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new RegistryError('UNKNOWN', 'the registry is out of space: nothing was stored; free space (cairn gc) and try again', { status: 507 });
  }
  if (code === 'EROFS') return new RegistryError('UNSUPPORTED', "the registry's storage is read-only: pulls work, writes cannot");
  return undefined;
}
