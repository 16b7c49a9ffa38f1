#include "web/static_assets.h"

#include "web/cached_page.h"

namespace scsipub::web {
namespace {

// Mobile first: one column, long command lines scroll inside their box and
// never widen the page; focus is always visible for keyboard users.
constexpr std::string_view kCss = R"css(:root {
  color-scheme: light dark;
  --bg: #fdfdfc; --fg: #1d232a; --muted: #566270; --accent: #0b5cad; --code-bg: #f0f2f5;
  --border: #d5dbe1; --focus: #e06c00;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14181d; --fg: #e4e8ec; --muted: #9aa7b4; --accent: #6cb2ff; --code-bg: #1f252c;
    --border: #333d47; --focus: #ffb266; }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 1rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.wrap { width: 100%; max-width: 56rem; margin: 0 auto; padding: 0 1rem; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, summary:focus-visible, pre:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; top: .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
header.site { border-bottom: 1px solid var(--border); }
.bar { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1rem;
  padding-top: .75rem; padding-bottom: .75rem; }
.brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; color: var(--fg); }
nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
h1 { font-size: 1.7rem; line-height: 1.2; margin: 1.5rem 0 .75rem; }
h2 { font-size: 1.35rem; margin: 2.25rem 0 .75rem; padding-top: .5rem; border-top: 1px solid var(--border); }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.lead { font-size: 1.08rem; }
.status { display: flex; flex-wrap: wrap; gap: .5rem; margin: 1rem 0; }
.stat { border: 1px solid var(--border); border-radius: 999px; padding: .15rem .75rem; color: var(--muted); }
.stat [data-stat] { color: var(--fg); font-weight: 700; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .9em; overflow-wrap: anywhere; }
:not(pre) > code { background: var(--code-bg); padding: .05em .3em; border-radius: 4px; }
.cmd { margin: .6rem 0 1rem; border: 1px solid var(--border); border-radius: 6px; background: var(--code-bg);
  min-width: 0; }
.cmd-bar { display: flex; align-items: center; justify-content: space-between; gap: .5rem;
  padding: .3rem .3rem .3rem .75rem; border-bottom: 1px solid var(--border); font-size: .85rem; color: var(--muted); }
pre { margin: 0; padding: .75rem; overflow-x: auto; max-width: 100%; line-height: 1.45; }
pre code { overflow-wrap: normal; white-space: pre; font-size: .85rem; }
button.copy { font: inherit; font-size: .85rem; min-height: 2.25rem; min-width: 4.5rem; padding: .25rem .75rem;
  border: 1px solid var(--border); border-radius: 5px; background: var(--bg); color: var(--fg); cursor: pointer; }
button.copy:hover { border-color: var(--accent); }
button.copy[hidden] { display: none; }
article.image { border: 1px solid var(--border); border-radius: 8px; padding: 0 1rem .5rem; margin: 1rem 0; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .25rem 1rem; margin: .5rem 0 1rem; }
dt { color: var(--muted); }
dd { margin: 0; min-width: 0; }
.iqn { overflow-wrap: anywhere; }
.luns { margin: 0; padding-left: 1.5rem; }
.note { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid var(--border); }
footer { margin-top: 3rem; padding-top: 1rem; padding-bottom: 2rem; border-top: 1px solid var(--border);
  color: var(--muted); font-size: .9rem; }
)css";

// Copies a command's exact text (its <code> element's textContent) on click,
// with a text-selection fallback where the Clipboard API is unavailable
// (plain http on another host than localhost). Buttons start hidden so a
// page without this script shows none that do nothing.
constexpr std::string_view kJs = R"js("use strict";
(function () {
  var status = null;
  function announce(text) {
    if (status) status.textContent = text;
  }
  function selectText(code) {
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    return ok;
  }
  function finish(button, ok) {
    button.textContent = ok ? "Copied" : "Selected";
    announce(ok ? "Copied to the clipboard" : "Selected: press Ctrl+C to copy");
    window.setTimeout(function () { button.textContent = "Copy"; }, 1500);
  }
  function copy(button) {
    var code = document.getElementById(button.getAttribute("data-copy"));
    if (!code) return;
    var text = code.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { finish(button, true); },
        function () { finish(button, selectText(code)); });
    } else {
      finish(button, selectText(code));
    }
  }
  function start() {
    status = document.getElementById("copy-status");
    var buttons = document.querySelectorAll("button.copy[data-copy]");
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
    document.addEventListener("click", function (event) {
      var target = event.target;
      var button = target && target.closest ? target.closest("button.copy[data-copy]") : null;
      if (button) copy(button);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
)js";

}  // namespace

std::string_view site_css() { return kCss; }
std::string_view site_js() { return kJs; }

std::string static_assets_version() {
  std::string both(kCss);
  both += kJs;
  std::string tag = etag_for(both);  // "\"<16 hex>\""
  return tag.substr(1, 8);
}

}  // namespace scsipub::web
