/** Ukrainian. Client names stay in the nominative, so they follow a noun ("сервіс {client}") rather than a preposition. */
import type { MessageId } from './en.js';

export const uk: Record<MessageId, string> = {
  'app.name': 'Nordlys ID',
  'layout.skip_link': 'Перейти до основного вмісту',
  'layout.footer': 'Безпечний вхід до цифрових послуг',

  'login.title': 'Вхід',
  'login.intro': 'Увійдіть, щоб перейти до сервісу {client}.',
  'login.email': 'Адреса електронної пошти',
  'login.password': 'Пароль',
  'login.submit': 'Увійти',
  'login.cancel': 'Скасувати',
  'login.error.invalid_credentials': 'Неправильна адреса електронної пошти або пароль.',
  'login.error.missing_fields': 'Введіть адресу електронної пошти та пароль.',

  'consent.title': 'Надання доступу',
  'consent.intro': 'Сервіс {client} просить дозволу:',
  'consent.claims_heading': 'Дані, які буде передано',
  'consent.allow': 'Дозволити',
  'consent.cancel': 'Скасувати',

  'scope.openid': 'Підтверджувати вашу особу',
  'scope.email': 'Бачити вашу адресу електронної пошти',
  'scope.profile': 'Бачити ваше ім’я та основні дані профілю',
  'scope.offline_access': 'Зберігати доступ до цих даних, коли ви не ввійшли в систему',
  'scope.phone': 'Бачити ваш номер телефону',
  'scope.address': 'Бачити вашу поштову адресу',

  'claim.sub': 'Ваш ідентифікатор користувача',
  'claim.name': 'Повне ім’я',
  'claim.given_name': 'Ім’я',
  'claim.family_name': 'Прізвище',
  'claim.email': 'Адреса електронної пошти',
  'claim.email_verified': 'Чи підтверджено вашу адресу електронної пошти',
  'claim.birthdate': 'Дата народження',
  'claim.phone_number': 'Номер телефону',
  'claim.address': 'Поштова адреса',
  'claim.locale': 'Бажана мова',

  'error.title': 'Щось пішло не так',
  'error.not_found_title': 'Сторінку не знайдено',
  'error.csrf': 'Ця форма застаріла або була надіслана не з наших сторінок. Спробуйте ще раз.',
  'error.body_too_large': 'Надіслані дані завеликі, ми не можемо їх прийняти.',
  'error.bad_request': 'Нам не вдалося обробити запит. Поверніться назад і спробуйте ще раз.',
  'error.not_found': 'Ми не знайшли сторінку, яку ви шукали.',
  'error.internal': 'Сталася помилка на нашому боці. Спробуйте пізніше.',
  'error.oidc': 'Сервіс, який перенаправив вас сюди, надіслав запит, який ми не можемо прийняти.',
  'error.detail_label': 'Код помилки',
  'error.back': 'Повернутися назад',

  'expired.title': 'Термін дії сторінки минув',
  'expired.message': 'Вхід тривав надто довго, тому з міркувань безпеки термін дії сторінки минув.',
  'expired.restart': 'Почати знову',
  'expired.go_back': 'Поверніться до сервісу, з якого ви прийшли, і ввійдіть знову.',

  'logout.title': 'Вихід',
  'logout.question': 'Бажаєте вийти з Nordlys ID?',
  'logout.question_client': 'Сервіс {client} хоче завершити ваш сеанс. Бажаєте вийти з Nordlys ID?',
  'logout.confirm': 'Так, вийти',
  'logout.cancel': 'Ні, залишитися в системі',

  'logged_out.title': 'Ви вийшли з системи',
  'logged_out.message': 'Ви вийшли з Nordlys ID.',
  'logged_out.message_client': 'Ви вийшли з сервісу {client}.',
  'logged_out.shared_computer':
    'Якщо ви користуєтеся спільним комп’ютером, закрийте також браузер, щоб ніхто інший не побачив ваших даних.',
};
