# Copyright 2026 cinder-zol developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Image copy goes through the wrapper's zvol-write / zvol-read verbs."""

from unittest import mock

import testtools

from zol_driver import image_transfer


class FakeStreams(object):
    """Records the streamed argvs; zvol-read yields fixed bytes."""

    def __init__(self):
        self.sent = {}

    def stream_to(self, argv, fileobj):
        self.sent[tuple(argv)] = fileobj.read()

    def stream_from(self, argv, fileobj):
        fileobj.write(b'zvol bytes')
        self.sent[tuple(argv)] = None


class ImageTransferTestCase(testtools.TestCase):

    @mock.patch.object(image_transfer.image_utils, 'fetch_to_raw')
    def test_image_to_zvol_streams_the_raw_file(self, fetch):
        def write_raw(ctx, svc, image_id, dest, blocksize, **kw):
            with open(dest, 'wb') as f:
                f.write(b'raw image')
        fetch.side_effect = write_raw
        ex = FakeStreams()
        image_transfer.image_to_zvol(ex, 'tank/cinder/volume-1', 'ctx',
                                     'svc', 'img', 1, '1M')
        self.assertEqual({('zvol-write', 'tank/cinder/volume-1'):
                          b'raw image'}, ex.sent)
        self.assertFalse(fetch.call_args.kwargs['run_as_root'])
        self.assertEqual(1, fetch.call_args.kwargs['size'])

    @mock.patch.object(image_transfer.volume_utils, 'upload_volume')
    def test_zvol_to_image_uploads_what_was_read(self, upload):
        seen = []

        def check(ctx, svc, meta, path, volume, run_as_root):
            with open(path, 'rb') as f:
                seen.append(f.read())
            self.assertFalse(run_as_root)
        upload.side_effect = check
        ex = FakeStreams()
        volume = mock.Mock(id='v1')
        image_transfer.zvol_to_image(ex, 'tank/cinder/volume-1', 'ctx',
                                     'svc', {'id': 'img'}, volume)
        self.assertIn(('zvol-read', 'tank/cinder/volume-1'), ex.sent)
        self.assertEqual([b'zvol bytes'], seen)
