// The setup page's only script (served by Tessera from its own origin, so the page's strict
// Content-Security-Policy allows it without 'unsafe-inline'). Optional by design: without it
// the Copy buttons stay hidden and the values are plain selectable text.
//
// 1. Copy buttons: `<button data-copy="ID" data-copy-what="…" hidden>` copies the text of
//    the element with id ID. Where the clipboard cannot be written (an http page that is not
//    localhost, a refused permission), the value is selected instead, for Ctrl+C or a long press.
// 2. After a test or a save the server redirects to `#report`: the result region takes focus,
//    so keyboard and screen-reader users land on it too.
'use strict';
(function () {
  var status = document.getElementById('copy-status');
  function say(text) {
    if (status) status.textContent = text;
  }
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var value = document.getElementById(button.getAttribute('data-copy'));
    if (!value) return;
    var what = button.getAttribute('data-copy-what') || 'value';
    button.hidden = false;
    button.addEventListener('click', function () {
      var text = value.textContent.trim();
      var copied = function () {
        button.textContent = 'Copied';
        say('Copied the ' + what + ' to the clipboard.');
      };
      var selected = function () {
        select(value);
        button.textContent = 'Selected';
        say('The ' + what + ' is selected: press Ctrl+C (or Cmd+C) to copy it.');
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(copied, selected);
      } else {
        selected();
      }
    });
  });
  if (location.hash === '#report') {
    var report = document.getElementById('report');
    if (report) report.focus();
  }
})();
