// Registry secret form: live host preview, "Test credentials", and switching
// providers in place.
//
// One script for both places a secret is typed: the secret pages (#secret-form)
// and the service form's inline panel (#inline-secret-form, whose inputs sit in
// the service form's markup and belong to it through their form="…" attribute).
// Elements are looked up when needed, so a panel whose fields are swapped in later
// works the same; the service form's script calls RegsecretsSecretForm.attach()
// after it swaps them.
//
// Progressive enhancement only: without JavaScript the picker links and the
// per-provider URLs do the same job. No inline code, so it runs under the
// strict CSP (script-src 'self').
(function () {
  "use strict";

  var form = document.getElementById("secret-form") || document.getElementById("inline-secret-form");
  if (!form) {
    return;
  }
  var previewTimer = null;
  var previewSeq = 0;

  function csrfToken() {
    var input =
      form.querySelector("input[name=csrfmiddlewaretoken]") ||
      document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function belongs(element) {
    return element && element.form === form;
  }

  function fieldsContainer() {
    return document.getElementById("provider-fields");
  }

  function previewFieldNames() {
    var container = fieldsContainer();
    var names = container ? container.getAttribute("data-preview-fields") || "" : "";
    return names ? names.split(",") : [];
  }

  // A known host reads as a value; the prompt shown until then must not.
  function showPreview(host) {
    var output = document.getElementById("host-preview");
    if (output) {
      output.textContent = host || output.getAttribute("data-empty") || "";
      output.classList.toggle(
        "host-preview-empty",
        !host && !output.hasAttribute("data-empty-is-host")
      );
    }
  }

  // The host comes from the server (Provider.preview_host): one implementation.
  function refreshPreview() {
    var container = fieldsContainer();
    if (!container) {
      return;
    }
    var body = new URLSearchParams();
    previewFieldNames().forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (input && typeof input.value === "string") {
        body.append(name, input.value);
      }
    });
    var seq = ++previewSeq;
    fetch(container.getAttribute("data-preview-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
      body: body,
    })
      .then(function (response) {
        return response.ok ? response.json() : { host: null };
      })
      .then(function (data) {
        if (seq === previewSeq) {
          showPreview(data.host);
        }
      })
      .catch(function () {
        /* a preview is a convenience; the server validates on submit */
      });
  }

  // Inputs may live outside the form element (form="…"): listen on the document.
  document.addEventListener("input", function (event) {
    if (!belongs(event.target) || previewFieldNames().indexOf(event.target.name) === -1) {
      return;
    }
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(refreshPreview, 250);
  });

  // --- "Test credentials": log in with what is typed, without saving ---------
  //
  // The whole form goes to the provider's test endpoint (the URL travels with the
  // provider's fields, so switching providers switches it). Results are built
  // with textContent only: a reason is text, never markup.

  function testResults() {
    return document.getElementById("test-results");
  }

  function clearTestErrors() {
    document.querySelectorAll("[data-test-error]").forEach(function (el) {
      el.remove();
    });
    document.querySelectorAll("[data-test-invalid]").forEach(function (el) {
      el.classList.remove("is-invalid");
      el.removeAttribute("data-test-invalid");
      el.removeAttribute("aria-invalid");
    });
  }

  function showTestMessage(kind, text) {
    var box = document.createElement("div");
    box.className = "alert py-2 mb-2 alert-" + kind;
    box.textContent = text;
    testResults().appendChild(box);
  }

  function showTestResults(results) {
    if (!results.length) {
      showTestMessage("secondary", "No registry to test.");
      return;
    }
    results.forEach(function (result) {
      var box = document.createElement("div");
      box.className = "alert py-2 mb-2 alert-" + (result.success ? "success" : "warning");
      box.setAttribute("data-test-result", result.success ? "ok" : result.code);
      // A sentence and what to do next; the code is a secondary detail.
      var host = document.createElement("strong");
      host.className = "mono";
      host.textContent = result.host;
      var verdict = document.createElement("span");
      verdict.className = "ms-2 fw-semibold";
      verdict.textContent = result.success ? "works" : "failed";
      var reason = document.createElement("div");
      reason.textContent = result.reason;
      box.append(host, verdict, reason);
      if (!result.success) {
        var next = document.createElement("div");
        next.setAttribute("data-next-step", "");
        next.textContent = result.next_step || "";
        var code = document.createElement("div");
        code.className = "small text-body-secondary";
        code.textContent = "Code: " + result.code;
        box.append(next, code);
      }
      testResults().appendChild(box);
    });
  }

  function showTestErrors(errors) {
    var general = [];
    Object.keys(errors).forEach(function (name) {
      var text = errors[name].join(" ");
      var input = name === "__all__" ? null : form.elements.namedItem(name);
      if (!input || !input.classList) {
        general.push(text);
        return;
      }
      input.classList.add("is-invalid");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("data-test-invalid", "");
      var feedback = document.createElement("div");
      feedback.className = "invalid-feedback d-block";
      feedback.setAttribute("data-test-error", "");
      feedback.textContent = text;
      input.insertAdjacentElement("afterend", feedback);
    });
    showTestMessage(
      "danger",
      "Fix the fields marked above to test." + (general.length ? " " + general.join(" ") : "")
    );
  }

  function runTest(button) {
    var container = fieldsContainer();
    var url = container ? container.getAttribute("data-test-url") : "";
    if (!url || !testResults()) {
      return;
    }
    clearTestErrors();
    testResults().textContent = "";
    showTestMessage("secondary", "Testing…");
    button.disabled = true;
    var body = new FormData(form);
    body.set("csrfmiddlewaretoken", csrfToken());
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      body: body,
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: response.status, data: data };
          });
      })
      .then(function (reply) {
        testResults().textContent = "";
        if (reply.status === 200 && reply.data.results) {
          showTestResults(reply.data.results);
        } else if (reply.status === 400 && reply.data.errors) {
          showTestErrors(reply.data.errors);
        } else {
          showTestMessage(
            "danger",
            reply.data.error || "The test could not run (HTTP " + reply.status + ")."
          );
        }
      })
      .catch(function () {
        testResults().textContent = "";
        showTestMessage("danger", "The test could not run: the server did not answer.");
      })
      .finally(function () {
        button.disabled = false;
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("#test-credentials") : null;
    if (button && button.type === "button") {
      runTest(button);
    }
  });

  // Show what only works with this script; refresh a preview the server could not
  // know (values typed before this script ran, or restored by the browser).
  function attach() {
    var group = document.getElementById("test-credentials-group");
    if (group) {
      group.hidden = false;
    }
    if (
      previewFieldNames().some(function (name) {
        var input = form.elements.namedItem(name);
        return input && input.value;
      })
    ) {
      refreshPreview();
    }
  }
  window.RegsecretsSecretForm = { attach: attach };
  attach();

  // --- The secret pages' provider switch --------------------------------------

  var select = document.getElementById("provider-switch");
  var group = document.getElementById("provider-switch-group");
  if (!select || !group) {
    return;
  }
  group.hidden = false;
  var link = document.getElementById("change-provider-link");
  if (link) {
    link.hidden = true;
  }

  // Replace only the provider's fields: the name input lives outside them.
  select.addEventListener("change", function () {
    var option = select.options[select.selectedIndex];
    var url = option.getAttribute("data-url");
    var slug = option.value;
    select.disabled = true;
    var fragmentUrl = url + (url.indexOf("?") === -1 ? "?" : "&") + "fragment=1";
    fetch(fragmentUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.querySelector("#provider-fields");
        var current = fieldsContainer();
        if (!fresh || !current) {
          throw new Error("no fields in the response");
        }
        current.replaceWith(fresh);
        if (testResults()) {
          testResults().textContent = "";
        }
        form.action = url;
        form.setAttribute("data-provider", slug);
        window.history.replaceState(null, "", url);
        document.title = document.title.replace(/^New .*? secret/, "New " + option.text + " secret");
      })
      .catch(function () {
        // Fall back to a normal navigation; the name is lost but nothing breaks.
        window.location.assign(url);
      })
      .finally(function () {
        select.disabled = false;
      });
  });
})();
