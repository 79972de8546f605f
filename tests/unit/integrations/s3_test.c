/* Invariant: our SigV4 equals AWS's published examples and the npm aws4 package's output
 * for fixed dates and keys (header-signed and presigned, path-style and virtual-host),
 * keys are URI-encoded as S3 wants, and the XML reader finds only whole tags. The e2e
 * story media_s3.mjs checks more inputs against aws4 live. */
#include <string.h>

#include "../test.h"
#include "integrations/s3.h"

static s3_conf aws_example(void) {
  s3_conf c = { .endpoint = "https://s3.amazonaws.com", .region = "us-east-1", .bucket = "examplebucket",
                .access_key = "AKIAIOSFODNN7EXAMPLE", .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
  return c;
}

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

TEST(s3_sign_header_aws_example) {
  /* "Example: GET Object" of the SigV4 header-signing documentation (Range signed) */
  s3_conf c = aws_example();
  char auth[600];
  s3_hdr h[] = { { "range", "bytes=0-9" }, { "x-amz-date", "20130524T000000Z" },
                 { "host", "examplebucket.s3.amazonaws.com" }, { "x-amz-content-sha256", EMPTY_SHA } };
  CHECK_EQ_INT(s3_sign_header(&c, "GET", "/test.txt", "", h, 4, EMPTY_SHA, "20130524T000000Z", auth, sizeof auth), 0);
  CHECK_EQ_STR(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                     "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  /* the same without Range, as aws4 1.13.2 signs it (it never signs Range) */
  CHECK_EQ_INT(s3_sign_header(&c, "GET", "/test.txt", "", h + 1, 3, EMPTY_SHA, "20130524T000000Z", auth, sizeof auth), 0);
  CHECK(strstr(auth, "Signature=df548e2ce037944d03f3e68682813b093763996d597cf890ca3d9037fd231eb4"));
}

TEST(s3_presign_aws_example_and_aws4) {
  s3_conf c = aws_example();
  char url[1500];
  c.path_style = 0; /* examplebucket.s3.amazonaws.com */
  CHECK_EQ_INT(s3_presign(&c, "GET", "test.txt", 86400, NULL, 0, "20130524T000000Z", url, sizeof url), 0);
  CHECK_EQ_STR(url, "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  /* path-style, a port, content-length and content-type bound (aws4 1.13.2's answer) */
  s3_conf m = { .endpoint = "http://127.0.0.1:9000", .region = "eu-west-1", .bucket = "vidzo-test",
                .access_key = "S3RVER", .secret_key = "S3RVER", .path_style = 1 };
  s3_hdr h[] = { { "content-type", "image/jpeg" }, { "content-length", "559083" } };
  CHECK_EQ_INT(s3_presign(&m, "PUT", "up-0a.bin", 3600, h, 2, "20261203T101500Z", url, sizeof url), 0);
  CHECK(!strncmp(url, "http://127.0.0.1:9000/vidzo-test/up-0a.bin?", 43));
  CHECK(strstr(url, "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&"));
  CHECK(strstr(url, "X-Amz-Signature=1eec26646ec5c5b66f694cd43574684103c2f30bfdc896fbff13b782051cdc40"));
  /* bounds: SigV4 presigned URLs live 1 s .. 7 days */
  CHECK(s3_presign(&m, "GET", "a.jpg", 0, NULL, 0, "20261203T101500Z", url, sizeof url) < 0);
  CHECK(s3_presign(&m, "GET", "a.jpg", 604801, NULL, 0, "20261203T101500Z", url, sizeof url) < 0);
  CHECK(s3_presign(&m, "GET", "a.jpg", 60, NULL, 0, "20261203T101500Z", url, 40) < 0); /* too small */
}

TEST(s3_urls_and_encoding) {
  char host[200], uri[400], url[600], enc[64];
  s3_conf c = { .endpoint = "https://minio.example:443/", .bucket = "b-1", .path_style = 1 };
  CHECK_EQ_INT(s3_object_url(&c, "a b/c~d.jpg", host, sizeof host, uri, sizeof uri, url, sizeof url), 0);
  CHECK_EQ_STR(host, "minio.example"); /* the default port is not part of Host */
  CHECK_EQ_STR(uri, "/b-1/a%20b/c~d.jpg");
  c.path_style = 0;
  CHECK_EQ_INT(s3_object_url(&c, "k.jpg", host, sizeof host, uri, sizeof uri, url, sizeof url), 0);
  CHECK_EQ_STR(url, "https://b-1.minio.example/k.jpg");
  s3_conf bad = { .endpoint = "ftp://x", .bucket = "b" };
  CHECK(s3_object_url(&bad, "k", host, sizeof host, uri, sizeof uri, url, sizeof url) < 0);
  CHECK_EQ_INT(s3_uri_encode("a/b=c&d", 0, enc, sizeof enc), 13);
  CHECK_EQ_STR(enc, "a%2Fb%3Dc%26d");
  CHECK(s3_uri_encode("\xff\xfe", 0, enc, 6) < 0); /* does not fit: refused, not cut */
  char d[17];
  s3_amz_date(1369353600, d);
  CHECK_EQ_STR(d, "20130524T000000Z");
}

TEST(s3_xml_value_reads_whole_tags_only) {
  char out[64];
  const char *x = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket>"
                  "<UploadId>a&amp;b&lt;c&#1;</UploadId></InitiateMultipartUploadResult>";
  CHECK_EQ_INT(s3_xml_value(x, strlen(x), "UploadId", out, sizeof out), 9);
  CHECK_EQ_STR(out, "a&b<c&#1;");
  CHECK(s3_xml_value(x, strlen(x), "Key", out, sizeof out) < 0);
  CHECK(s3_xml_value("<Code>NoSuch", 12, "Code", out, sizeof out) < 0); /* unterminated */
  CHECK(s3_xml_value(x, strlen(x), "UploadId", out, 4) < 0);         /* does not fit */
  CHECK(s3_xml_value(x, 20, "UploadId", out, sizeof out) < 0);        /* beyond len */
  const char *e = "<Error><Code>InternalError</Code></Error>";
  CHECK_EQ_INT(s3_xml_value(e, strlen(e), "Code", out, sizeof out), 13);
}
