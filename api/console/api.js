// Calls to the TaskFlow API, with the session kept in this module's memory only: never in a cookie,
// localStorage or sessionStorage, so it ends with the tab (a reload asks to sign in again).

let session = null; // {accessToken, refreshToken, user}

/** An error answer of the API: its status and problem details. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The API answered ${status}.`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

async function send(path, {method = "GET", body, token} = {}) {
  const headers = {Accept: "application/json"};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, {title: "Unreachable", detail: "The API did not answer: check the connection and try again."});
  }
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

function keep(answer) {
  session = {accessToken: answer.accessToken, refreshToken: answer.refreshToken, user: answer.user};
  return session.user;
}

/** The signed-in user, or null. */
export function currentUser() {
  return session?.user ?? null;
}

export async function signIn(email, password) {
  return keep(await send("/auth/login", {method: "POST", body: {email, password}}));
}

/** Sign out: the API revokes the refresh family and this access token; the memory is cleared either way. */
export async function signOut() {
  const ending = session;
  session = null;
  if (ending) {
    await send("/auth/logout", {method: "POST", body: {refreshToken: ending.refreshToken}, token: ending.accessToken})
      .catch(() => undefined);
  }
}

let renewing = null;

/** A new token pair for the session, asked once however many calls found the old token expired (a refresh token is
 * spent when used: presenting it twice would revoke the session). */
function renew(expired) {
  if (!session) return Promise.resolve(false);
  if (session.accessToken !== expired) return Promise.resolve(true);
  renewing ??= send("/auth/refresh", {method: "POST", body: {refreshToken: session.refreshToken}})
    .then((answer) => Boolean(keep(answer)), () => { session = null; return false; })
    .finally(() => { renewing = null; });
  return renewing;
}

/** An authenticated call; an expired access token is renewed once with the refresh token. */
export async function call(path, options = {}) {
  if (!session) throw new ApiError(401, {title: "Unauthorized", detail: "Sign in first."});
  const token = session.accessToken;
  try {
    return await send(path, {...options, token});
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || !(await renew(token))) throw error;
    return send(path, {...options, token: session.accessToken});
  }
}

/** A query string from an object; arrays repeat their key, empty values are left out. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const one of [value].flat()) if (one !== "" && one !== null && one !== undefined) search.append(key, one);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
