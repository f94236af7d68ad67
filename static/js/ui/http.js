// How the pages' scripts talk to the bank: the one module for fetch(), the
// CSRF token and base64.
//
//   import { postForm, RequestError, toBase64 } from "./http.js";
//   try {
//     const answer = await postForm(url, { serial, verifier: toBase64(bytes) });
//   } catch (error) {
//     // error.message: the server's Korean sentence, safe to show
//     // error.code, error.status, error.retryAfter (seconds, or null)
//   }
//
// Every JSON endpoint answers a refusal as {"error": Korean message, "code"}
// with its 4xx status, and Retry-After when it says how long to wait
// (bank/http.py). The step-up pages add {"errors": {field: [messages]}} for
// a form that did not validate (flows/views.py).

const CONNECTION_FAILED = "서버에 연결할 수 없습니다. 네트워크를 확인한 뒤 다시 시도해 주세요.";
const CSRF_FAILED = "보안 확인에 실패했습니다. 페이지를 새로고침한 뒤 다시 시도해 주세요.";
const TOO_MANY = "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.";
const NOT_PROCESSED = "요청을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.";

// ------------------------------------------------------------------ base64

/** Standard base64 of bytes (a Uint8Array, ArrayBuffer or typed array view). */
export function toBase64(bytes) {
  let view = bytes;
  if (!(bytes instanceof Uint8Array)) {
    view = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  }
  let binary = "";
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < view.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, view.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Bytes of a standard or URL-safe base64 string (padding optional, whitespace ignored). */
export function fromBase64(text) {
  const clean = String(text).replace(/\s/g, "").replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(clean.padEnd(Math.ceil(clean.length / 4) * 4, "="));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

// ------------------------------------------------------------------ CSRF

function cookie(name) {
  for (const part of document.cookie ? document.cookie.split(";") : []) {
    const at = part.indexOf("=");
    if (part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return "";
}

/**
 * The page's CSRF token: the {% csrf_token %} input inside `root` (the
 * component that asks), else anywhere on the page, else Django's csrftoken
 * cookie. Django rotates the token at login, and the page rendered with it
 * carries the current one.
 */
export function csrfToken(root = document) {
  const scope = root && root.querySelector ? root : document;
  const input = scope.querySelector("input[name=csrfmiddlewaretoken]") ?? document.querySelector("input[name=csrfmiddlewaretoken]");
  return input?.value || cookie("csrftoken");
}

// ------------------------------------------------------------------ requests

/** A refused or failed request. `message` is Korean and safe to show. */
export class RequestError extends Error {
  constructor(message, { status = 0, code = "", retryAfter = null, errors = null, data = null } = {}) {
    super(message);
    this.name = "RequestError";
    this.status = status; // 0: no answer at all (network)
    this.code = code; // the server's refusal code ("wrong_pin", "throttled", …), or ""
    this.retryAfter = retryAfter; // seconds to wait (Retry-After), or null
    this.errors = errors; // {field: [Korean messages]} of a step-up form, or null
    this.data = data; // the JSON body, when there was one
  }
}

/** Retry-After in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || String(value).trim() === "") return null;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

async function answerOf(response) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok && data && typeof data === "object") return data;
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  let message = data && typeof data.error === "string" && data.error;
  if (!message) {
    if (response.status === 403) message = CSRF_FAILED;
    else if (response.status === 429) message = TOO_MANY;
    else message = NOT_PROCESSED;
  }
  throw new RequestError(message, {
    status: response.status,
    code: (data && typeof data.code === "string" && data.code) || "",
    retryAfter,
    errors: data && data.errors && typeof data.errors === "object" ? data.errors : null,
    data,
  });
}

async function send(url, init) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init });
  } catch {
    throw new RequestError(CONNECTION_FAILED);
  }
  return answerOf(response);
}

/**
 * POST `fields` as FormData to a same-origin JSON endpoint, with the CSRF
 * token and Accept: application/json. Resolves to the JSON body of a 2xx
 * answer; otherwise throws a RequestError with the server's Korean `error`,
 * its `code`, the HTTP `status` and `retryAfter`.
 */
export function postForm(url, fields = {}, { root = document } = {}) {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null) body.append(name, value);
  }
  return send(url, { method: "POST", body, headers: { "X-CSRFToken": csrfToken(root), Accept: "application/json" } });
}

/** GET a same-origin JSON answer (Accept: application/json); errors as postForm's. */
export function getJson(url) {
  return send(url, { headers: { Accept: "application/json" } });
}

/**
 * A path on this site: "/…". Never "//host" or "/\host" (browsers read a
 * backslash as a slash), nor one with tabs or line breaks (which URL parsing
 * drops, so "/\t/host" would become "//host"), nor a full URL.
 */
export function isSameSitePath(target) {
  return typeof target === "string" && /^\/(?![/\\])/.test(target) && !/[\u0000-\u0020\u007f]/.test(target);
}

/**
 * Follow a redirect the server sent, only within this site. Returns false
 * when there is nothing safe to follow.
 */
export function followSameSiteRedirect(redirect) {
  // SECURITY: an answer that names another site is not followed (open redirect).
  if (!isSameSitePath(redirect)) return false;
  window.location.assign(redirect);
  return true;
}
