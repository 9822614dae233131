// The council's proposal form (renkei/governance_council.html): only the fields of the chosen kind of change show.
(function () {
  var select = document.getElementById('change_type');
  if (!select) { return; }
  function show() {
    document.querySelectorAll('fieldset[data-kind]').forEach(function (set) {
      set.hidden = set.getAttribute('data-kind') !== select.value;
    });
  }
  select.addEventListener('change', show);
  show();
})();
