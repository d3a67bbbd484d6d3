"""What the operators' commands share about their options: errors that never repeat a number."""

import click

from backend.log_mask import mask_phone_shaped


class Choice(click.Choice):
    """click.Choice whose refusal masks a phone number typed by mistake (`--format 06...`)."""

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as error:
            error.message = mask_phone_shaped(error.message)
            raise
