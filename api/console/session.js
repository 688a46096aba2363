// Signing in, and the page a signed-in user who is not an admin sees.

import {ApiError, signIn} from "./api.js";
import {h} from "./dom.js";

/** The sign-in form; `done(user)` runs once the API has accepted the credentials. */
export function signInView(main, done, notice = "") {
  const error = h("p", {class: "error", id: "sign-in-error", role: "alert"});
  const email = h("input", {id: "email", name: "email", type: "email", autocomplete: "username", required: true});
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const submit = h("button", {type: "submit"}, "Sign in");
  const form = h("form", {class: "sign-in", "aria-describedby": "sign-in-error"},
    h("h1", {tabindex: "-1"}, "Sign in"),
    notice ? h("p", {class: "notice"}, notice) : null,
    h("p", {}, "The console shows TaskFlow's event log to admins."),
    h("label", {for: "email"}, "Email"), email,
    h("label", {for: "password"}, "Password"), password,
    submit, error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      performance.mark("taskflow:sign-in");
      const user = await signIn(email.value.trim(), password.value);
      password.value = "";
      done(user);
    } catch (failure) {
      error.textContent = failure instanceof ApiError && failure.status === 401
        ? "That email and password do not match an account."
        : failure.message;
      submit.disabled = false;
      password.focus();
    }
  });
  main.replaceChildren(form);
  email.focus();
}

/** A clear refusal for a signed-in user whose role may not read the log. */
export function refusedView(main, user, signOut) {
  main.replaceChildren(h("section", {class: "refused"},
    h("h1", {tabindex: "-1"}, "Admins only"),
    h("p", {}, "You are signed in as ", h("strong", {}, user.email), ", whose role is ", h("strong", {}, user.role),
      ". The console shows the event log, projections and dead letters to admins only; ask an admin if you need it."),
    h("button", {type: "button", onclick: signOut}, "Sign out")));
  main.querySelector("h1").focus();
}
