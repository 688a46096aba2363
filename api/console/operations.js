// Operations: where each projection stands (position, lag, status), and the dead-letter queue of refunds that
// failed for good, each with a button that sends it back for a new series of attempts.

import {call, query} from "./api.js";
import {fill, h, markPainted, show, short, streamLink, when} from "./dom.js";

const PAGE = 50;

function amount(refund) {
  try {
    const format = new Intl.NumberFormat(undefined, {style: "currency", currency: refund.currency});
    return format.format(refund.amount / 10 ** format.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${refund.amount} ${show(refund.currency)} (minor units)`;
  }
}

function table(caption, columns, rows, empty) {
  return h("div", {class: "scroll"}, h("table", {class: "listing"}, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((name) => h("th", {scope: "col"}, name)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", {colspan: columns.length}, empty)))));
}

function projectionRows(projections) {
  return projections.map((p) => h("tr", {},
    h("th", {scope: "row", "data-label": "Projection"}, p.name),
    h("td", {"data-label": "Position"}, String(p.position)),
    h("td", {"data-label": "Lag"}, String(p.lag)),
    h("td", {"data-label": "Status"}, h("span", {class: `badge ${p.status}`}, p.status))));
}

export function operationsView(main, {say, failed}) {
  let stopped = false;
  const letters = h("section", {"aria-labelledby": "letters-heading"}, h("h2", {id: "letters-heading"}, "Dead letters"));
  const projections = h("section", {"aria-labelledby": "projections-heading"},
    h("h2", {id: "projections-heading"}, "Projections"));
  main.replaceChildren(h("h1", {tabindex: "-1"}, "Operations"), projections, letters);

  async function retry(refund, button) {
    button.disabled = true;
    try {
      const sent = await call(`/admin/dead-letters/${refund.id}/retry`, {method: "POST"});
      say(`Refund ${sent.id} sent back for a new series of attempts: it is ${sent.status}.`);
      await showLetters();
    } catch (error) {
      button.disabled = false;
      if (error.status === 409) say(`Refund ${refund.id} is not a dead letter any more.`);
      else failed(error);
    }
  }

  function letterRow(refund) {
    const button = h("button", {type: "button", "aria-label": `Retry refund ${refund.id}`}, "Retry");
    button.addEventListener("click", () => retry(refund, button));
    return h("tr", {"data-refund": refund.id},
      h("td", {"data-label": "Refund"}, streamLink(refund.id, short(refund.id))),
      h("td", {"data-label": "Task"}, streamLink(refund.taskId, short(refund.taskId))),
      h("td", {"data-label": "Amount"}, amount(refund)),
      h("td", {"data-label": "Attempts"}, String(refund.attempts)),
      h("td", {"data-label": "Last error"}, show(refund.lastError ?? "—")),
      h("td", {"data-label": "Requested"}, h("time", {datetime: refund.requestedAt}, when(refund.requestedAt))),
      h("td", {"data-label": "Failed"}, refund.completedAt ? when(refund.completedAt) : "—"),
      h("td", {"data-label": "Action"}, button));
  }

  /** The dead letters, a page at a time ("More" adds the next); returns how many are shown. */
  async function showLetters(cursor = "", shown = []) {
    const page = await call(`/admin/dead-letters${query({limit: PAGE, cursor})}`);
    if (stopped) return;
    const rows = [...shown, ...page.data.map(letterRow)];
    const next = page.nextCursor
      ? h("button", {type: "button", onclick: () => showLetters(page.nextCursor, rows).catch(failed)}, "More")
      : null;
    fill(letters, h("h2", {id: "letters-heading"}, "Dead letters"),
      table("Refunds that failed for good, the longest waiting first",
        ["Refund", "Task", "Amount", "Attempts", "Last error", "Requested", "Failed", "Action"], rows,
        "No dead letters: every refund was paid or is still being tried."), next);
    return rows.length;
  }

  (async () => {
    try {
      const [states, letterCount] = await Promise.all([call("/admin/projections"), showLetters()]);
      if (stopped) return;
      fill(projections, h("h2", {id: "projections-heading"}, "Projections"),
        table("Each projection's position in the log, lag and status",
          ["Projection", "Position", "Lag", "Status"], projectionRows(states), "No projections."));
      markPainted("operations");
      say(`${states.length} projections; ${letterCount}${letterCount === PAGE ? " or more" : ""} dead letters.`);
    } catch (error) {
      if (!stopped) failed(error);
    }
  })();
  return () => {
    stopped = true;
  };
}
