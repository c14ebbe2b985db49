/* weibao console: live SLA countdowns. No build step, no dependencies.
 *
 * Every <time class="countdown" data-due="ISO"> counts down each second. "Now" is the
 * desk's clock, not the browser's: the nearest [data-now] container says what time the
 * desk had when it rendered, and the difference to the browser's clock is kept per
 * container (htmx swaps the queue in every 30 s with a fresh data-now). The words come
 * from the container's data-word-* and data-unit-* attributes, translated by the desk.
 */
(function () {
  "use strict";
  var offsets = new WeakMap();

  function offsetOf(box) {
    if (!offsets.has(box)) {
      var desk = Date.parse(box.getAttribute("data-now"));
      offsets.set(box, isNaN(desk) ? 0 : desk - Date.now());
    }
    return offsets.get(box);
  }

  function span(seconds, box) {
    var d = box.getAttribute("data-unit-d") || "d";
    var h = box.getAttribute("data-unit-h") || "h";
    var m = box.getAttribute("data-unit-m") || "m";
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) return hours ? days + d + " " + hours + h : days + d;
    if (hours) return mins ? hours + h + " " + mins + m : hours + h;
    return mins ? mins + m : box.getAttribute("data-word-soon") || "<1m";
  }

  function tick() {
    var clocks = document.querySelectorAll("time.countdown[data-due]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      var box = el.closest("[data-now]");
      if (!box) continue;
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) continue;
      var left = (due - (Date.now() + offsetOf(box))) / 1000;
      var word = box.getAttribute(left >= 0 ? "data-word-in" : "data-word-over") || "%(time)s";
      el.textContent = word.replace("%(time)s", span(left, box));
      if (left < 0) {
        var clock = el.closest(".clock, .clock-row");
        if (clock && !clock.classList.contains("risk-breach")) {
          clock.classList.remove("risk-warn");
          clock.classList.add("risk-breach");
        }
      }
    }
  }

  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  window.setInterval(tick, 1000);
})();
