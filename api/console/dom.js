// Building the page: every node with createElement, every piece of text with text nodes. Nothing the API returns
// ever becomes markup (the page's CSP also refuses every sink that parses a string as HTML, through Trusted Types).

/** An element: `h("a", {href: "#/log", class: "x", onclick: f}, "text", child, [more])`. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Append children: nodes as they are, anything else as text. */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A value of an event's data or a state as one line of text. */
export function show(value) {
  if (value === null || value === undefined) return "null";
  return typeof value === "string" && value !== "" ? value : JSON.stringify(value);
}

/** A timestamp as the API gives it (UTC), shortened for reading: 2026-11-26 08:00:00.123 UTC. */
export function when(text) {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?/.exec(text ?? "");
  return match ? `${match[1]} ${match[2]}${match[3] ?? ""} UTC` : String(text ?? "");
}

/** A definition list of [term, description] pairs (descriptions may be nodes). */
export function facts(pairs, className = "facts") {
  return h("dl", {class: className}, pairs.map(([term, description]) => [h("dt", {}, term), h("dd", {}, description)]));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` can name a stream (a UUID): an actor may be one (a user) or not ("system:refund-worker"). */
export function isStreamId(id) {
  return typeof id === "string" && UUID.test(id);
}

/** A link to a stream when `id` is a stream id, else the text itself. */
export function streamLink(id, label = id) {
  return isStreamId(id) ? h("a", {href: `#/streams/${id}`}, label) : show(id);
}

/** A route of the console: "#/log?type=TaskCreated" from ("log", {type: "TaskCreated"}); empty values are left out. */
export function href(view, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== "" && value != null));
  const text = query.toString();
  return `#/${view}${text ? `?${text}` : ""}`;
}

/** Record how long the current view took to show (from the route's start to the frame after it was drawn), as the
 * performance entry "taskflow:NAME" (the browser tests read it). */
export function markPainted(name) {
  requestAnimationFrame(() => setTimeout(() => {
    performance.mark(`taskflow:${name}-painted`);
    performance.measure(`taskflow:${name}`, "taskflow:view", `taskflow:${name}-painted`);
  }));
}

/** The first characters of a long id, the whole of it for assistive technology and on hover. */
export function short(id, length = 8) {
  const text = show(id);
  return text.length > length + 1 ? h("span", {title: text, "aria-label": text}, `${text.slice(0, length)}…`) : text;
}
