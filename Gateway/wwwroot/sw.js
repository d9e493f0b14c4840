// Service worker of the web client: shows Web Push notifications (docs/configuration.md) and opens the conversation on click.
// It lives at the site root so its scope covers the whole client.

self.addEventListener('push', event => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const count = Number(data.count) || 1;
  const title = data.title || (data.from ? (data.mention ? `${data.from} mentioned you` : `Message from ${data.from}`) : 'AspireChat');
  const body = data.body || data.text || (count > 1 ? `${count} new messages` : 'New message');
  event.waitUntil(self.registration.showNotification(title, {
    body,
    tag: data.conv || 'aspirechat',
    renotify: true,
    data: { conv: data.conv || null },
  }));
});

self.addEventListener('notificationclick', event => {
  event.notification.close();
  const conv = event.notification.data?.conv;
  const url = conv ? `/#${encodeURIComponent(conv)}` : '/';
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find(w => new URL(w.url).origin === self.location.origin);
    if (open) {
      await open.focus();
      if (conv) open.postMessage({ open: conv });
      return;
    }
    await self.clients.openWindow(url);
  })());
});
