// The log: newest first or oldest first, from a position (the API's opaque cursors, kept in the address), filtered
// by event type, stream type, stream, correlation or causation; in live mode new events appear as they commit.

import {call, query} from "./api.js";
import {fill, h, href, markPainted, short, streamLink, when} from "./dom.js";

const PAGE = 50;
const LIVE_EVERY_MS = 1000;
const LIVE_BATCH = 100;
const LIVE_KEEP = 500; // rows kept on the page while live: older ones are a page away
const FILTERS = [
  ["type", "Event type", "event-types"],
  ["streamType", "Stream type", "stream-types"],
  ["streamId", "Stream id", null],
  ["correlationId", "Correlation id", null],
  ["causationId", "Causation id (with a correlation id)", null],
];
// Suggestions only: any type the log holds can be typed in.
const EVENT_TYPES = [
  "TaskCreated", "TaskUpdated", "TaskCompleted", "TaskDeleted", "TaskRefundRequested", "UserRegistered",
  "UserRoleChanged", "RefundRequested", "RefundAttemptFailed", "RefundSucceeded", "RefundFailed", "RefundRetried",
  "RefundDismissed",
];
const STREAM_TYPES = ["task", "user", "refund"];
const COLUMNS = ["Position", "Recorded", "Type", "Stream", "Version", "Actor", "Correlation"];

function cell(label, ...content) {
  return h("td", {"data-label": label}, content);
}

function row(event, fresh = false) {
  const {metadata} = event;
  return h("tr", {class: fresh ? "fresh" : null, "data-position": event.position},
    cell("Position", String(event.position)),
    cell("Recorded", h("time", {datetime: event.recordedAt}, when(event.recordedAt))),
    cell("Type", event.type),
    cell("Stream", h("a", {href: `#/streams/${event.streamId}`, class: "stream"}, `${event.streamType} `,
      short(event.streamId))),
    cell("Version", String(event.version)),
    cell("Actor", metadata.actorId ? streamLink(metadata.actorId, short(metadata.actorId)) : "—"),
    cell("Correlation", metadata.correlationId
      ? h("a", {href: href("log", {correlationId: metadata.correlationId})}, short(metadata.correlationId, 12))
      : "—"));
}

function filterForm(order, filters, live) {
  const fields = FILTERS.map(([key, label, list]) => h("div", {class: "field"},
    h("label", {for: `filter-${key}`}, label),
    h("input", {id: `filter-${key}`, name: key, value: filters[key], list, autocomplete: "off", spellcheck: "false"})));
  const orderField = h("div", {class: "field"}, h("label", {for: "filter-order"}, "Order"),
    h("select", {id: "filter-order", name: "order"},
      h("option", {value: "newest", selected: order === "newest"}, "Newest first"),
      h("option", {value: "oldest", selected: order === "oldest"}, "Oldest first (commit order)")));
  const liveField = h("div", {class: "field check"},
    h("input", {id: "filter-live", name: "live", type: "checkbox", value: "1", checked: live}),
    h("label", {for: "filter-live"}, "Live: add new events as they commit (newest first)"));
  const form = h("form", {class: "filters", role: "search", "aria-label": "Filter the log"},
    fields, orderField, liveField,
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Show"), h("a", {href: "#/log"}, "Clear")),
    h("datalist", {id: "event-types"}, EVENT_TYPES.map((type) => h("option", {value: type}))),
    h("datalist", {id: "stream-types"}, STREAM_TYPES.map((type) => h("option", {value: type}))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const chosen = Object.fromEntries(FILTERS.map(([key]) => [key, String(data.get(key) ?? "").trim()]));
    const isLive = data.get("live") === "1" && data.get("order") === "newest";
    location.hash = href("log", {...chosen, order: data.get("order"), live: isLive ? "1" : ""});
  });
  return form;
}

function pager(filters, order, page, fetched, position) {
  const full = page.data.length === PAGE;
  const newer = fetched === "oldest" ? full : Boolean(position.before);
  const older = fetched === "newest" ? full : Boolean(position.after);
  const link = (label, params) => h("a", {href: href("log", {...filters, order, ...params})}, label);
  return [
    link("Newest", {order: "newest"}),
    newer && page.nextAfter ? link("Newer", {after: page.nextAfter}) : null,
    older && page.nextBefore ? link("Older", {before: page.nextBefore}) : null,
    link("Oldest", {order: "oldest"}),
  ];
}

/** Live mode: every second, the events committed after `after` (in commit order, so none is skipped), added at the
 * top of `body`; returns a function that stops it. */
function follow(body, filters, after, {say, failed}) {
  let timer = 0;
  let stopped = false;
  async function poll(from, delay) {
    timer = setTimeout(async () => {
      try {
        const page = await call(`/admin/events${query({...filters, order: "oldest", after: from, limit: LIVE_BATCH})}`);
        if (stopped) return;
        for (const event of page.data) body.prepend(row(event, true));
        while (body.rows.length > LIVE_KEEP) body.lastElementChild.remove();
        if (page.data.length) say(`${page.data.length} new ${page.data.length === 1 ? "event" : "events"} committed.`);
        poll(page.nextAfter ?? from, page.data.length === LIVE_BATCH ? 0 : LIVE_EVERY_MS);
      } catch (error) {
        if (stopped) return;
        if (error.status === 401 || error.status === 403) return failed(error);
        say(`Live mode is waiting for the API: ${error.message}`);
        poll(from, 5 * LIVE_EVERY_MS);
      }
    }, delay);
  }
  poll(after, LIVE_EVERY_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function logView(main, {params, say, failed}) {
  const order = params.get("order") === "oldest" ? "oldest" : "newest";
  const filters = Object.fromEntries(FILTERS.map(([key]) => [key, params.get(key) ?? ""]));
  const position = {after: params.get("after") ?? "", before: params.get("before") ?? ""};
  const live = params.get("live") === "1" && order === "newest" && !position.after && !position.before;
  // A page next to a cursor is read towards it, then shown in the order asked for.
  const fetched = position.after ? "oldest" : position.before ? "newest" : order;
  const body = h("tbody", {}, h("tr", {}, h("td", {colspan: COLUMNS.length}, "Reading the log…")));
  const caption = h("caption", {}, order === "newest" ? "Events, newest first" : "Events, in commit order");
  const nav = h("nav", {class: "pager", "aria-label": "Pages of the log"});
  main.replaceChildren(h("h1", {tabindex: "-1"}, "Event log"), filterForm(order, filters, live),
    h("div", {class: "scroll"}, h("table", {class: "events"}, caption,
      h("thead", {}, h("tr", {}, COLUMNS.map((name) => h("th", {scope: "col"}, name)))), body)), nav);
  let stopped = false;
  let stopFollowing = () => {};
  (async () => {
    try {
      const page = await call(`/admin/events${query({...filters, ...position, order: fetched, limit: PAGE})}`);
      if (stopped) return;
      const events = fetched === order ? page.data : [...page.data].reverse();
      fill(body, events.length ? events.map((event) => row(event))
        : h("tr", {}, h("td", {colspan: COLUMNS.length}, "No events here.")));
      fill(nav, pager(filters, order, page, fetched, position));
      markPainted("log");
      say(`${events.length} events${live ? "; live: new events appear at the top" : ""}.`);
      if (live) stopFollowing = follow(body, filters, page.nextAfter ?? undefined, {say, failed});
    } catch (error) {
      if (!stopped) failed(error);
    }
  })();
  return () => {
    stopped = true;
    stopFollowing();
  };
}
