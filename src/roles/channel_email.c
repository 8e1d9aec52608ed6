/*
 * channel_email.c — the e-mail channel: one MIME message (multipart/alternative:
 * text/plain and text/html, both UTF-8 in base64 so any title is safe on the
 * wire) sent through libcurl's SMTP client to TOCK_SMTP_URL (smtp:// upgrades
 * with STARTTLS when the server offers it; smtps:// is TLS from the start), with
 * TOCK_SMTP_USER and the password from TOCK_SMTP_PASSWORD_FILE when set. The
 * subject is RFC 2047-encoded; no user text ever reaches a header unencoded.
 */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "obs/clock.h"
#include "roles/channel.h"

static int put_b64(struct buf *b, const char *s, size_t n, bool wrap)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *enc = malloc(cap);
    if (!enc)
        return TOCK_ENOMEM;
    sodium_bin2base64(enc, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
    size_t len = strlen(enc);
    int rc = 0;
    if (!wrap)
        rc = buf_append(b, enc, len);
    for (size_t i = 0; wrap && i < len; i += 76) {
        rc |= buf_append(b, enc + i, len - i < 76 ? len - i : 76);
        rc |= buf_puts(b, "\r\n");
    }
    free(enc);
    return rc;
}

static int put_html_escaped(struct buf *b, const char *s)
{
    int rc = 0;
    for (; *s; s++) {
        switch (*s) {
        case '<': rc |= buf_puts(b, "&lt;"); break;
        case '>': rc |= buf_puts(b, "&gt;"); break;
        case '&': rc |= buf_puts(b, "&amp;"); break;
        case '"': rc |= buf_puts(b, "&quot;"); break;
        case '\'': rc |= buf_puts(b, "&#39;"); break;
        default: rc |= buf_append(b, s, 1);
        }
    }
    return rc;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Subject, plain text and HTML for the job's reminders. */
static int render(const struct channel_config *cfg, const struct notify_job *job,
                  struct buf *subject, struct buf *text, struct buf *html)
{
    const struct delivery *d = &job->d;
    json_t *items = json_loads(d->payload, 0, NULL);
    size_t n = json_array_size(items);
    int rc = 0;
    if (strcmp(d->kind, "test") == 0) {
        rc |= buf_puts(subject, "Test notification from tock");
        rc |= buf_puts(text, "This is a test: your tock e-mail notifications work.\r\n");
        rc |= buf_puts(html, "<p>This is a test: your tock e-mail notifications work.</p>");
        json_decref(items);
        return rc;
    }
    if (n == 1)
        rc |= buf_printf(subject, "Reminder: %s", str(json_array_get(items, 0), "title"));
    else
        rc |= buf_printf(subject, "%zu reminders", n);
    rc |= buf_puts(html, "<html><body>");
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        const char *title = str(it, "title"), *due = str(it, "due");
        char link[700];
        snprintf(link, sizeof link, "%s/tasks/%s", cfg->public_url, str(it, "task_id"));
        rc |= buf_printf(text, "%s\r\n", title);
        if (*due)
            rc |= buf_printf(text, "Due: %s\r\n", due);
        rc |= buf_printf(text, "Open: %s\r\n\r\n", link);
        rc |= buf_puts(html, "<h3>");
        rc |= put_html_escaped(html, title);
        rc |= buf_puts(html, "</h3>");
        if (*due) {
            rc |= buf_puts(html, "<p>Due: ");
            rc |= put_html_escaped(html, due);
            rc |= buf_puts(html, "</p>");
        }
        rc |= buf_puts(html, "<p><a href=\"");
        rc |= put_html_escaped(html, link);
        rc |= buf_puts(html, "\">Open the task</a></p>");
    }
    rc |= buf_puts(html, "</body></html>");
    json_decref(items);
    return rc;
}

static int build_message(const struct channel_config *cfg, const struct notify_job *job,
                         struct buf *msg)
{
    struct buf subject = BUF_INIT, text = BUF_INIT, html = BUF_INIT;
    int rc = render(cfg, job, &subject, &text, &html);
    char date[64], boundary[64];
    time_t now = (time_t)(clock_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(boundary, sizeof boundary, "tock-%s", job->d.uuid);
    rc |= buf_printf(msg, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nMessage-ID: <%s@tock>\r\n", date,
                     cfg->smtp_from, job->to_email, job->d.uuid);
    rc |= buf_puts(msg, "Subject: =?UTF-8?B?");
    rc |= put_b64(msg, subject.data, subject.len, false);
    rc |= buf_printf(msg, "?=\r\nX-Tock-Delivery: %s\r\nMIME-Version: 1.0\r\n"
                          "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
                     job->d.uuid, boundary);
    rc |= buf_printf(msg, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n",
                     boundary);
    rc |= put_b64(msg, text.data, text.len, true);
    rc |= buf_printf(msg, "--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n",
                     boundary);
    rc |= put_b64(msg, html.data, html.len, true);
    rc |= buf_printf(msg, "--%s--\r\n", boundary);
    buf_free(&subject);
    buf_free(&text);
    buf_free(&html);
    return rc ? TOCK_ENOMEM : 0;
}

struct reader {
    const char *data;
    size_t len, off;
};

static size_t read_cb(char *out, size_t size, size_t nmemb, void *arg)
{
    struct reader *r = arg;
    size_t n = size * nmemb, left = r->len - r->off;
    if (n > left)
        n = left;
    memcpy(out, r->data + r->off, n);
    r->off += n;
    return n;
}

static int email_send(const struct channel_config *cfg, const struct notify_job *job,
                      char *detail, size_t dlen)
{
    if (!cfg->smtp_url[0]) {
        snprintf(detail, dlen, "SMTP is not configured (TOCK_SMTP_URL)");
        return TOCK_EINVAL;
    }
    if (!job->to_email[0] || strpbrk(job->to_email, "\r\n<>")) {
        snprintf(detail, dlen, "no usable recipient address");
        return TOCK_EINVAL;
    }
    if (channel_global_init()) {
        snprintf(detail, dlen, "libcurl could not be initialised");
        return TOCK_EINTERNAL;
    }
    struct buf msg = BUF_INIT;
    if (build_message(cfg, job, &msg)) {
        buf_free(&msg);
        snprintf(detail, dlen, "out of memory");
        return TOCK_ENOMEM;
    }
    char from[300], to[300];
    snprintf(from, sizeof from, "<%s>", cfg->smtp_from);
    snprintf(to, sizeof to, "<%s>", job->to_email);
    CURL *c = curl_easy_init();
    if (!c) {
        buf_free(&msg);
        snprintf(detail, dlen, "curl_easy_init failed");
        return TOCK_ENOMEM;
    }
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    struct reader rd = {msg.data, msg.len, 0};
    curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    if (strncmp(cfg->smtp_url, "smtp://", 7) == 0)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    if (cfg->smtp_user[0]) {
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &rd);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, cfg->timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode cr = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    int rc = 0;
    if (cr == CURLE_OK) {
        snprintf(detail, dlen, "SMTP %ld: accepted for %s", code, job->to_email);
    } else {
        snprintf(detail, dlen, "SMTP %ld: %s", code, curl_easy_strerror(cr));
        rc = TOCK_EBUS;
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    buf_free(&msg);
    return rc;
}

const struct channel_ops channel_email_ops = {"email", email_send};
