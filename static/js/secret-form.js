// Registry secret form: switch providers in place and preview the registry host.
//
// Progressive enhancement only: without JavaScript the picker links and the
// per-provider URLs do the same job. No inline code, so it runs under the
// strict CSP (script-src 'self').
(function () {
  "use strict";

  var form = document.getElementById("secret-form");
  if (!form) {
    return;
  }
  var csrfInput = form.querySelector("input[name=csrfmiddlewaretoken]");
  var previewTimer = null;
  var previewSeq = 0;

  function fieldsContainer() {
    return document.getElementById("provider-fields");
  }

  function previewFieldNames() {
    var container = fieldsContainer();
    var names = container ? container.getAttribute("data-preview-fields") || "" : "";
    return names ? names.split(",") : [];
  }

  function showPreview(host) {
    var output = document.getElementById("host-preview");
    if (output) {
      output.textContent = host || output.getAttribute("data-empty") || "";
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
      headers: { "X-CSRFToken": csrfInput ? csrfInput.value : "" },
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

  form.addEventListener("input", function (event) {
    if (previewFieldNames().indexOf(event.target.name) === -1) {
      return;
    }
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(refreshPreview, 250);
  });

  // Values typed before this script ran, or restored by the browser on "back",
  // would otherwise keep the server's initial preview.
  if (
    previewFieldNames().some(function (name) {
      var input = form.elements.namedItem(name);
      return input && input.value;
    })
  ) {
    refreshPreview();
  }

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
