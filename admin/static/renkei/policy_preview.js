// The allocation policy form (renkei/billing_policy_new.html): the preview without leaving the page.
// Progressive enhancement: the preview button works without this (the form posts and the page comes back).
(function () {
  var form = document.getElementById('policy-form'), button = document.getElementById('preview-button');
  var area = document.getElementById('preview-area');
  if (!form || !button || !window.fetch || !window.FormData) return;
  button.addEventListener('click', function (event) {
    event.preventDefault();
    var data = new FormData(form);
    data.set('intent', 'preview');
    fetch(form.getAttribute('data-preview-url'), {method: 'POST', body: data, credentials: 'same-origin'})
      .then(function (response) { return response.text(); })
      .then(function (html) { area.innerHTML = html; var p = document.getElementById('preview'); if (p) p.focus(); })
      .catch(function () { form.requestSubmit ? form.requestSubmit(button) : form.submit(); });
  });
})();
