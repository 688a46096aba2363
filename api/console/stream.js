// One stream: whether its hash chain holds, its state as of any version or moment (time travel), and its events as
// a timeline, each with its envelope (actor, correlation, causation: links to the related events), its data, and
// what it changed in the state, as the aggregate's own fold computes it (the API sends both states).

import {ApiError, call, query} from "./api.js";
import {facts, fill, h, href, isStreamId, markPainted, show, streamLink, when} from "./dom.js";

const PAGE = 50;

function verdict(check) {
  const events = check.events === 1 ? "1 event" : `${check.events} events`;
  if (check.intact) return h("p", {class: "verdict intact"}, `Hash chain intact: ${events}, each version in place.`);
  return h("p", {class: "verdict broken", role: "alert"},
    `Hash chain BROKEN at version ${check.firstBrokenVersion}: the stream was changed after it was written `
    + `(${events}).`);
}

function stateTable(state) {
  if (!state) return h("p", {}, "This stream's events cannot be folded by this version of TaskFlow.");
  // A state's ids (its owner, its task, its refund) lead to their streams.
  return facts(Object.entries(state).map(([field, value]) => [field, isStreamId(value) ? streamLink(value) : show(value)]),
    "facts state");
}

function changesTable(changes) {
  if (!changes.length) return h("p", {class: "quiet"}, "No change to the state.");
  return h("table", {class: "changes"}, h("caption", {}, "What it changed"),
    h("thead", {}, h("tr", {}, ["Field", "Before", "After"].map((name) => h("th", {scope: "col"}, name)))),
    h("tbody", {}, changes.map((change) => h("tr", {},
      h("th", {scope: "row"}, change.field),
      h("td", {"data-label": "Before"}, show(change.before)),
      h("td", {"data-label": "After"}, show(change.after))))));
}

function envelope(event) {
  const {metadata} = event;
  const correlation = metadata.correlationId;
  return facts([
    ["Recorded", h("time", {datetime: event.recordedAt}, when(event.recordedAt))],
    ["Position", String(event.position)],
    ["Schema version", String(event.schemaVersion)],
    ["Actor", metadata.actorId ? actorLink(metadata.actorId) : "—"],
    ["Correlation", correlation ? h("a", {href: href("log", {correlationId: correlation})}, correlation) : "—"],
    ["Causation", metadata.causationId && correlation
      ? h("a", {href: href("log", {correlationId: correlation, causationId: metadata.causationId})},
        metadata.causationId)
      : show(metadata.causationId ?? "—")],
    ["Request", metadata.requestId ?? "—"],
  ]);
}

/** A user who acted: a link to the user's stream, named once the user is read (see nameActors). */
function actorLink(actorId) {
  const link = streamLink(actorId);
  if (link instanceof Element) link.dataset.actor = actorId;
  return link;
}

/** Put each acting user's email on the links to them (one read a user; an actor that is no user keeps its id). */
async function nameActors(root) {
  const links = [...root.querySelectorAll("a[data-actor]:not([data-named])")];
  const ids = [...new Set(links.map((link) => link.dataset.actor))].filter(isStreamId);
  const users = await Promise.all(ids.map((id) => call(`/users/${id}`).catch(() => null)));
  const named = new Map(users.filter(Boolean).map((user) => [user.id, user]));
  for (const link of links) {
    const user = named.get(link.dataset.actor);
    link.dataset.named = "";
    if (!user) continue;
    link.textContent = `${user.email} (${user.name})`;
    link.title = user.id;
  }
}

function timelineItem(streamId, event) {
  const title = `Version ${event.version}: ${event.type}`;
  return h("li", {id: `v${event.version}`, "data-version": event.version},
    h("article", {"aria-label": title},
      h("h3", {}, title),
      envelope(event),
      h("details", {class: "data"}, h("summary", {}, "Data as stored"),
        h("pre", {}, JSON.stringify(event.data, null, 2))),
      changesTable(event.changes),
      h("p", {}, h("a", {href: href(`streams/${streamId}`, {version: event.version})},
        `State as of version ${event.version}`))));
}

function travelForm(streamId, history, asOf) {
  const version = h("input", {
    id: "travel-version", name: "version", type: "number", min: 1, max: history.latestVersion,
    value: history.version, required: true, inputmode: "numeric",
  });
  const moment = h("input", {id: "travel-as-of", name: "asOf", type: "datetime-local", step: "0.001", value: asOf});
  const byVersion = h("form", {class: "travel", "aria-label": "State as of a version"},
    h("label", {for: "travel-version"}, `Version (1 to ${history.latestVersion})`), version,
    h("button", {type: "submit"}, "Show that version"));
  byVersion.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = href(`streams/${streamId}`, {version: version.value});
  });
  const byTime = h("form", {class: "travel", "aria-label": "State as of a moment"},
    h("label", {for: "travel-as-of"}, "Moment (UTC)"), moment,
    h("button", {type: "submit"}, "Show that moment"));
  byTime.addEventListener("submit", (event) => {
    event.preventDefault();
    if (moment.value) location.hash = href(`streams/${streamId}`, {asOf: `${moment.value}Z`});
  });
  return [byVersion, byTime];
}

/** The stream's page: verdict, facts, the state (as of `history.version`) with time travel, and the timeline. */
function streamPage(history, check, asOf, timeline) {
  const travelled = history.version !== history.latestVersion;
  return [
    h("h1", {tabindex: "-1"}, `${history.streamType} stream `, h("code", {}, history.streamId)),
    verdict(check),
    facts([
      ["Latest version", String(history.latestVersion)],
      ["In the log", h("a", {href: href("log", {streamId: history.streamId, order: "oldest"})}, "its events")],
    ]),
    h("section", {class: "state", "aria-labelledby": "state-heading"},
      h("h2", {id: "state-heading"}, travelled ? `State as of version ${history.version}` : "State now",
        ` (version ${history.version}, recorded ${when(history.recordedAt)})`),
      travelled ? h("p", {}, h("a", {href: `#/streams/${history.streamId}`}, "Back to now")) : null,
      travelForm(history.streamId, history, asOf.replace(/Z$/, "")),
      stateTable(history.state)),
    h("section", {"aria-labelledby": "timeline-heading"},
      h("h2", {id: "timeline-heading"}, travelled ? `Events up to version ${history.version}` : "Events"),
      timeline),
  ];
}

export function streamView(main, {id, params, say, failed}) {
  const asOf = params.get("asOf") ?? "";
  const at = {version: params.get("version") ?? "", asOf};
  const path = `/admin/streams/${encodeURIComponent(id)}`;
  let stopped = false;
  main.replaceChildren(h("h1", {tabindex: "-1"}, "Stream ", h("code", {}, id ?? "")), h("p", {}, "Reading the stream…"));

  /** The timeline's events after version `after`, a page at a time ("More events" asks for the next). */
  function timeline(list, button, page) {
    list.append(...page.events.map((event) => timelineItem(id, event)));
    nameActors(list);
    button.hidden = page.nextAfter === null;
    button.disabled = false;
    button.onclick = async () => {
      button.disabled = true;
      try {
        timeline(list, button, await call(`${path}${query({...at, after: page.nextAfter, limit: PAGE})}`));
      } catch (error) {
        failed(error);
      }
    };
  }

  (async () => {
    try {
      const [history, check] = await Promise.all([call(`${path}${query({...at, limit: PAGE})}`),
        call(`${path}/verification`)]);
      if (stopped) return;
      const list = h("ol", {class: "timeline", "aria-label": "Events, oldest first"});
      const button = h("button", {type: "button"}, "More events");
      fill(main, streamPage(history, check, asOf, [list, button]));
      timeline(list, button, history);
      main.querySelector("h1").focus();
      markPainted("stream");
      say(`${history.streamType} stream, version ${history.version} of ${history.latestVersion}; `
        + (check.intact ? "its hash chain is intact." : `its hash chain is broken at version ${check.firstBrokenVersion}.`));
    } catch (error) {
      if (stopped) return;
      if (!(error instanceof ApiError && error.status === 404)) return failed(error);
      fill(main, h("h1", {tabindex: "-1"}, "No such stream"),
        h("p", {role: "alert"}, at.version || at.asOf ? "The stream had no such version or moment."
          : "No events have this stream id."),
        h("p", {}, h("a", {href: "#/log"}, "Back to the log")));
    }
  })();
  return () => {
    stopped = true;
  };
}
