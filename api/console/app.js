// The console's shell: who is signed in, the navigation, and which view the address (#/log, #/streams/ID,
// #/operations) shows. A view returns a function that stops whatever it still runs (live mode's polling).

import {ApiError, currentUser, signOut} from "./api.js";
import {h} from "./dom.js";
import {logView} from "./log.js";
import {operationsView} from "./operations.js";
import {refusedView, signInView} from "./session.js";
import {streamView} from "./stream.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
let stopView = () => {};
let wanted = location.hash.startsWith("#/") ? location.hash : "#/log";

function route() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, id] = path.split("/").map(decodeURIComponent);
  return {name: name || "log", id, params: new URLSearchParams(search)};
}

/** Report what happened in the status line (read out by screen readers). */
function say(text) {
  status.textContent = text;
}

function showAccount(user) {
  document.getElementById("nav").hidden = !user || user.role !== "admin";
  document.getElementById("account").hidden = !user;
  document.getElementById("who").textContent = user ? `${user.email} (${user.role})` : "";
}

async function endSession(notice) {
  stopView();
  stopView = () => {};
  await signOut();
  showAccount(null);
  signInView(main, signedIn, notice);
}

function signedIn() {
  showAccount(currentUser());
  if (location.hash !== wanted) location.hash = wanted;
  else render();
}

/** What a view does when the API refuses it: sign in again, the refusal page, or the problem's detail. */
function failed(error) {
  if (error instanceof ApiError && error.status === 401) return endSession("Your session ended: sign in again.");
  if (error instanceof ApiError && error.status === 403) return refusedView(main, currentUser(), () => endSession(""));
  const errors = error.problem?.errors ?? [];
  main.replaceChildren(h("section", {class: "failed"}, h("h1", {tabindex: "-1"}, "That did not work"),
    h("p", {role: "alert"}, error.message),
    errors.length ? h("ul", {}, errors.map((item) => h("li", {}, `${item.field}: ${item.message}`))) : null,
    h("p", {}, h("a", {href: "#/log"}, "Back to the log"))));
  main.querySelector("h1").focus();
}

const VIEWS = {log: logView, streams: streamView, operations: operationsView};

function render() {
  stopView();
  stopView = () => {};
  const user = currentUser();
  if (!user) {
    wanted = location.hash.startsWith("#/") ? location.hash : wanted;
    return signInView(main, signedIn);
  }
  if (user.role !== "admin") return refusedView(main, user, () => endSession(""));
  const {name, id, params} = route();
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = VIEWS[name] ?? logView;
  say("");
  performance.mark("taskflow:view");
  stopView = view(main, {id, params, say, failed}) ?? (() => {});
  main.querySelector("h1")?.focus(); // the keyboard and screen readers start at the new view's heading
}

document.getElementById("sign-out").addEventListener("click", () => endSession("You are signed out."));
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#/")) render();
});
render();
