// The service form's enhancements: create a registry secret inline (the secret
// pages' own provider form, fetched as a fragment and posted with fetch) and a
// live, non-blocking suggestion of a secret that serves the typed image.
// Without this script the form still works: the "Create a new registry secret…"
// option and link go to the secret pages and come back with the secret selected.
// CSP: no inline code; the CSRF cookie is HttpOnly, so the token is read from
// the service form's csrfmiddlewaretoken input.
(function () {
  "use strict";

  var form = document.getElementById("service-form");
  var select = document.getElementById("id_registry_secret");
  var panel = document.getElementById("inline-secret");
  var inlineForm = document.getElementById("inline-secret-form");
  if (!form || !select || !panel || !inlineForm) {
    return;
  }
  var NEW = "new";
  var providerSelect = document.getElementById("inline-provider");
  var fields = document.getElementById("inline-secret-fields");
  var saveButton = document.getElementById("inline-secret-save");
  var cancelButton = document.getElementById("inline-secret-cancel");
  var link = document.getElementById("new-secret-link");
  var imageInput = document.getElementById("id_image");
  var live = document.getElementById("live-suggestion");
  var previous = select.value === NEW ? "" : select.value;

  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function url(template, slug) {
    return template.replace("__slug__", encodeURIComponent(slug));
  }

  // POST a FormData with the page's CSRF token; resolves to {status, body}
  // (body {} when the reply is not JSON) so callers branch on the status.
  function postForm(target, data) {
    return fetch(target, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          return { status: response.status, body: body };
        });
    });
  }

  // --- Inline secret panel -------------------------------------------------
  //
  // The secret pages' experience in place: the provider picker (radio cards, the
  // image's registry preselecting one), the provider's own fields with the name
  // first, the live host preview and "Test credentials" (secret-form.js drives
  // those two, as on the secret pages), then a visible confirmation once the new
  // secret is created and selected.

  var suggestedProvider = "";
  var confirmation = document.getElementById("inline-secret-confirmation");
  var providerHint = document.getElementById("inline-provider-hint");

  function chosenProvider() {
    var checked = providerSelect.querySelector("input[name=inline_provider]:checked");
    return checked ? checked.value : "";
  }

  function chooseProvider(slug, hint) {
    var radio = document.getElementById("inline-provider-" + slug);
    if (!radio) {
      return;
    }
    radio.checked = true;
    if (providerHint) {
      providerHint.textContent = hint || "";
      providerHint.hidden = !hint;
    }
    loadProvider(slug);
  }

  function preselectProvider() {
    var host = imageRegistry || "the image's registry";
    chooseProvider(
      suggestedProvider,
      "Chosen from the image's registry (" + host + "); pick another if it is elsewhere."
    );
  }

  function clearFields() {
    fields.textContent = "";
    saveButton.disabled = true;
  }

  function openPanel() {
    panel.hidden = false;
    if (confirmation) {
      confirmation.hidden = true;
    }
    if (!chosenProvider() && suggestedProvider) {
      preselectProvider();
      return;
    }
    var first = providerSelect.querySelector("input:checked") || providerSelect.querySelector("input");
    if (first) {
      first.focus();
    }
  }

  function closePanel() {
    panel.hidden = true;
    providerSelect.querySelectorAll("input[name=inline_provider]").forEach(function (radio) {
      radio.checked = false;
    });
    if (providerHint) {
      providerHint.hidden = true;
    }
    clearFields();
  }

  function showGeneralError(message) {
    var box = fields.querySelector("[data-errors-for='__all__']");
    if (!box) {
      box = document.createElement("div");
      box.className = "alert alert-danger";
      box.setAttribute("role", "alert");
      fields.prepend(box);
    }
    box.textContent = message;
    box.classList.remove("d-none");
  }

  function clearErrors() {
    fields.querySelectorAll(".is-invalid").forEach(function (el) {
      el.classList.remove("is-invalid");
      el.removeAttribute("aria-invalid");
    });
    fields.querySelectorAll("[data-inline-error]").forEach(function (el) {
      el.remove();
    });
    var box = fields.querySelector("[data-errors-for='__all__']");
    if (box) {
      box.textContent = "";
      box.classList.add("d-none");
    }
  }

  function showErrors(errors) {
    clearErrors();
    var first = null;
    Object.keys(errors).forEach(function (name) {
      var messages = errors[name].join(" ");
      var input = name === "__all__" ? null : fields.querySelector("[name='" + CSS.escape(name) + "']");
      if (!input) {
        showGeneralError(messages);
        return;
      }
      input.classList.add("is-invalid");
      input.setAttribute("aria-invalid", "true");
      var feedback = document.createElement("div");
      feedback.className = "invalid-feedback d-block";
      feedback.setAttribute("data-inline-error", "");
      feedback.id = input.id + "_inline_error";
      feedback.textContent = messages;
      input.setAttribute("aria-describedby", feedback.id);
      input.insertAdjacentElement("afterend", feedback);
      first = first || input;
    });
    if (first) {
      first.focus();
    }
  }

  function loadProvider(slug) {
    clearFields();
    if (!slug) {
      return;
    }
    fetch(url(inlineForm.dataset.fieldsUrl, slug), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (chosenProvider() !== slug) {
          return; // another provider was chosen meanwhile
        }
        // Our own server-rendered fragment: labels, inputs and help, never values.
        fields.innerHTML = html;
        fields.querySelectorAll("input, select, textarea, button").forEach(function (el) {
          el.setAttribute("form", inlineForm.id);
        });
        saveButton.disabled = false;
        // A provider asking for the registry's address gets the image's registry
        // (a private registry, an Artifact Registry region): one thing less to type.
        var address = fields.querySelector("input[name=url]");
        if (address && !address.value && imageRegistry && slug === suggestedProvider) {
          address.value = imageRegistry;
        }
        if (window.RegsecretsSecretForm) {
          window.RegsecretsSecretForm.attach();
        }
        var firstInput = fields.querySelector("input, textarea");
        if (firstInput) {
          firstInput.focus();
        }
      })
      .catch(function () {
        showGeneralError("The form could not be loaded. Try again, or use the registry secrets page.");
      });
  }

  function addAndSelect(secret) {
    var option = new Option(secret.label, secret.id);
    var newOption = select.querySelector("option[value='" + NEW + "']");
    select.insertBefore(option, newOption);
    select.value = secret.id;
    previous = secret.id;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    if (confirmation) {
      confirmation.textContent =
        "Secret “" + secret.name + "” created and selected for this service.";
      confirmation.hidden = false;
    }
  }

  inlineForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var slug = chosenProvider();
    if (!slug) {
      return;
    }
    var data = new FormData(inlineForm);
    data.delete("inline_provider");
    data.set("csrfmiddlewaretoken", csrfToken());
    saveButton.disabled = true;
    postForm(url(inlineForm.dataset.createUrl, slug), data)
      .then(function (result) {
        if (result.status === 201) {
          addAndSelect(result.body);
          closePanel();
          select.focus();
        } else if (result.status === 400 && result.body.errors) {
          showErrors(result.body.errors);
        } else {
          showGeneralError("The secret could not be created (HTTP " + result.status + ").");
        }
      })
      .catch(function () {
        showGeneralError("The secret could not be created: the server did not answer.");
      })
      .finally(function () {
        saveButton.disabled = !chosenProvider() || !fields.firstChild;
      });
  });

  providerSelect.addEventListener("change", function (event) {
    if (event.target.name === "inline_provider") {
      if (providerHint) {
        providerHint.hidden = true;
      }
      loadProvider(event.target.value);
    }
  });
  cancelButton.addEventListener("click", function () {
    closePanel();
    select.focus();
  });
  if (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      openPanel();
    });
  }

  // --- The select ------------------------------------------------------------

  select.addEventListener("change", function () {
    if (select.value === NEW) {
      // Choosing "Create a new registry secret…" opens the panel; the select keeps
      // its previous choice until a secret is created.
      select.value = previous;
      openPanel();
      return;
    }
    previous = select.value;
    if (confirmation) {
      confirmation.hidden = true;
    }
    showChoiceDependents();
    suggest();
  });

  // Once a secret is chosen, the suggestions and "this image is public" no longer
  // apply: they go (and come back if the choice goes back to "No secret").
  function showChoiceDependents() {
    var chosen = Boolean(select.value);
    ["server-suggestion", "mismatch-matches", "public-image-group"].forEach(function (id) {
      var element = document.getElementById(id);
      if (element) {
        element.hidden = chosen;
      }
    });
    var publicBox = document.getElementById("id_public_image");
    if (publicBox && chosen) {
      publicBox.checked = false;
    }
  }

  // Make sure the select has an option for a secret (the select holds a few
  // secrets only: a search's answer and the current choice).
  function ensureOption(id, label) {
    if (!id) {
      return;
    }
    var present = Array.prototype.some.call(select.options, function (option) {
      return option.value === id;
    });
    if (!present) {
      select.insertBefore(new Option(label || id, id), select.querySelector("option[value='" + NEW + "']"));
    }
  }

  // --- Secret search (search as you type) --------------------------------------
  //
  // Without this script, "Find" posts the form and the page comes back with the
  // secrets found. With it, typing asks the server for the names containing the
  // text (a bounded answer) and puts them in the select; "No secret", "Create a new
  // registry secret…" and the current choice stay.

  var searchInput = document.getElementById("id_secret_search");
  var searchedInput = document.getElementById("id_secret_searched");
  var searchStatus = document.getElementById("secret-search-status");
  var searchButton = document.getElementById("secret-search-button");
  var searchTimer = null;
  var searchSequence = 0;

  function showResults(query, secrets) {
    var keep = select.value;
    Array.prototype.slice.call(select.options).forEach(function (option) {
      if (option.value && option.value !== NEW && option.value !== keep) {
        option.remove();
      }
    });
    var newOption = select.querySelector("option[value='" + NEW + "']");
    secrets.forEach(function (secret) {
      if (secret.id !== keep) {
        select.insertBefore(new Option(secret.label, secret.id), newOption);
      }
    });
    select.value = keep;
    searchedInput.value = query;
    if (secrets.length) {
      searchStatus.textContent =
        secrets.length + (secrets.length === 1 ? " secret" : " secrets") + " in the list" +
        (query ? " whose name contains “" + query + "”." : ".");
    } else {
      searchStatus.textContent = "No secret name contains “" + query + "”.";
    }
  }

  function searchSecrets() {
    var query = searchInput.value.trim();
    var mine = ++searchSequence;
    fetch(searchInput.dataset.searchUrl + "?" + new URLSearchParams({ q: query }), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (body) {
        if (mine === searchSequence) {
          showResults(query, body.secrets || []);
        }
      })
      .catch(function () {
        if (mine === searchSequence) {
          searchStatus.textContent = "The search did not answer; press Find to try again.";
        }
      });
  }

  if (searchInput && searchedInput && searchStatus && searchInput.dataset.searchUrl) {
    searchInput.addEventListener("input", function () {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(searchSecrets, 250);
    });
    searchInput.addEventListener("keydown", function (event) {
      // Enter searches now; it must not save the service.
      if (event.key === "Enter") {
        event.preventDefault();
        clearTimeout(searchTimer);
        searchSecrets();
      }
    });
    if (searchButton) {
      searchButton.addEventListener("click", function (event) {
        event.preventDefault();
        clearTimeout(searchTimer);
        searchSecrets();
      });
    }
  }

  // --- Live suggestion -----------------------------------------------------------

  var timer = null;
  var sequence = 0;
  var imageRegistry = "";

  function hideSuggestion() {
    live.hidden = true;
  }

  function suggest() {
    if (!live || !imageInput) {
      return;
    }
    var image = imageInput.value.trim();
    if (!image) {
      hideSuggestion();
      return;
    }
    var mine = ++sequence;
    fetch(form.dataset.suggestUrl + "?" + new URLSearchParams({ image: image }), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        return response.ok ? response.json() : { matches: [] };
      })
      .then(function (body) {
        if (mine !== sequence) {
          return;
        }
        // Which provider the inline panel offers first, whatever is selected.
        suggestedProvider = body.provider || "";
        imageRegistry = body.registry || "";
        if (!panel.hidden && !chosenProvider() && suggestedProvider) {
          preselectProvider();
        }
        if (select.value || document.getElementById("server-suggestion")) {
          hideSuggestion(); // chosen already, or the server's own suggestion is shown
          return;
        }
        var match = (body.matches || [])[0];
        if (!match) {
          hideSuggestion();
          return;
        }
        live.querySelector("[data-text]").textContent =
          "The secret “" + match.name + "” matches the registry " + match.registry + " — select it?";
        live.querySelector("[data-select]").dataset.secretId = match.id;
        live.querySelector("[data-select]").dataset.secretLabel = match.label || match.name;
        live.hidden = false;
      })
      .catch(hideSuggestion);
  }

  if (live && imageInput) {
    imageInput.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(suggest, 300);
    });
    live.querySelector("[data-select]").addEventListener("click", function (event) {
      ensureOption(event.currentTarget.dataset.secretId, event.currentTarget.dataset.secretLabel);
      select.value = event.currentTarget.dataset.secretId;
      previous = select.value;
      // Let other listeners (the verify result) see the new choice.
      select.dispatchEvent(new Event("change", { bubbles: true }));
      hideSuggestion();
      select.focus();
    });
    suggest(); // the provider to offer first; the live box stays hidden beside the server's
  }

  // --- "Verify image" ---------------------------------------------------------
  //
  // On demand only (a button, not on every keystroke): each check contacts a
  // registry and counts against a small per-user budget. The answer is a hint;
  // the form saves whatever it says.

  var verifyBox = document.getElementById("image-verify");
  var verifyButton = document.getElementById("verify-image");
  var verifyResult = document.getElementById("image-verify-result");
  var verifySequence = 0;

  // A sentence first, then what to do next; the code is a secondary detail.
  function showVerify(kind, text, code, nextStep) {
    verifyResult.textContent = "";
    var box = document.createElement("div");
    box.className = "alert py-2 mb-0 alert-" + kind;
    var sentence = document.createElement("div");
    sentence.textContent = text;
    box.appendChild(sentence);
    if (nextStep) {
      var next = document.createElement("div");
      next.setAttribute("data-next-step", "");
      next.textContent = nextStep;
      box.appendChild(next);
    }
    if (code) {
      var detail = document.createElement("div");
      detail.className = "small text-body-secondary";
      detail.textContent = "Code: " + code;
      box.appendChild(detail);
    }
    verifyResult.appendChild(box);
  }

  function verifyImage() {
    var mine = ++verifySequence;
    var data = new FormData();
    data.set("image", imageInput.value.trim());
    data.set("secret", select.value === NEW ? "" : select.value);
    showVerify("secondary", "Checking…");
    verifyButton.disabled = true;
    postForm(form.dataset.verifyUrl, data)
      .then(function (reply) {
        if (mine !== verifySequence) {
          return;
        }
        var body = reply.body;
        if (reply.status === 200) {
          if (body.success) {
            showVerify("success", body.reason);
          } else {
            showVerify(
              "warning",
              body.reason + " You can still save the service.",
              body.code,
              body.next_step
            );
          }
        } else if (reply.status === 400 && body.errors) {
          showVerify("danger", Object.values(body.errors).flat().join(" "));
        } else {
          showVerify("danger", body.error || "The image could not be verified (HTTP " + reply.status + ").");
        }
      })
      .catch(function () {
        if (mine === verifySequence) {
          showVerify("danger", "The image could not be verified: the server did not answer.");
        }
      })
      .finally(function () {
        verifyButton.disabled = false;
      });
  }

  function staleVerify() {
    // A result about another image or secret would mislead.
    verifySequence++;
    verifyResult.textContent = "";
    verifyButton.disabled = false;
  }

  if (verifyBox && verifyButton && verifyResult && imageInput && form.dataset.verifyUrl) {
    verifyBox.hidden = false;
    verifyButton.addEventListener("click", verifyImage);
    imageInput.addEventListener("input", staleVerify);
    select.addEventListener("change", staleVerify);
  }
})();
